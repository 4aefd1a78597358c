"""The Playground: live runs stepped one epoch at a time (core.playground) and the page that plays them (AppTest)."""

from __future__ import annotations

import base64
import io
import time
from types import SimpleNamespace

import numpy as np
import pytest

from core.playground import Runs, Trainer, stop_all
from core.store import Store
from core.studies import get_study, run_study

PAGE = "pages/playground.py"
SMALL = {"dataset": "moons", "n_train": 60, "n_test": 60, "depth": 2, "hidden": 8, "activation": "tanh", "lr": 0.01,
         "batch_size": 10, "seed": 3}


@pytest.fixture(autouse=True)
def no_thread_left():
    """Every trainer a test opened (directly or through a page) is closed after it: no training thread outlives it."""
    yield
    stop_all()


def wait_for(condition, seconds: float = 30.0) -> None:
    """Poll until `condition()` holds (a background thread is training); fail after `seconds`."""
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "the trainer did not get there in time"
        time.sleep(0.02)


def test_a_saved_side_by_side_pair_re_runs_to_the_same_numbers():
    runs = Runs([SMALL, {**SMALL, "l2": 0.01}], ["A", "B"])
    assert runs.engines == ["StackedEngine"]  # a same-shape pair is one stacked computation
    for _ in range(4):
        runs.step()
    panel = runs.panel(1)
    assert panel.epoch == 4 and set(panel.history["split"]) == {"train", "test"} and len(panel.field) <= 50 * 50
    results = runs.results()
    assert [r.config["epochs"] for r in results] == [4, 4] and results[1].config["l2"] == 0.01
    for result in results:  # an ordinary run of the classification study: its config trains it again
        again = run_study(get_study("classification"), result.config)[0]
        assert again.metrics["test_loss"] == pytest.approx(result.metrics["test_loss"], abs=1e-5)


def test_two_widths_train_as_two_loops_on_the_same_points():
    runs = Runs([SMALL, {**SMALL, "hidden": 16}], ["A", "B"])
    assert len(runs.parts) == 2
    runs.step()
    a, b = runs.panel(0), runs.panel(1)
    assert a.epoch == b.epoch == 1 and len(b.nodes) > len(a.nodes)  # the diagram shows B's wider layers
    with pytest.raises(ValueError, match="same data"):
        Runs([SMALL, {**SMALL, "dataset": "xor"}], ["A", "B"])


def test_trainer_plays_pauses_steps_and_resets():
    trainer = Trainer(Runs([SMALL], ["A"]), publish_every=0.0)
    try:
        trainer.play()
        wait_for(lambda: trainer.epoch >= 3)
        trainer.pause()
        paused_at = trainer.epoch
        time.sleep(0.3)
        snap = trainer.snapshot()
        assert trainer.epoch == paused_at == snap.epoch and not snap.playing  # pausing keeps the state
        assert snap.panels[0].history["epoch"].max() == paused_at
        trainer.step()
        assert trainer.epoch == paused_at + 1 and trainer.snapshot().epoch == paused_at + 1
        trainer.reset(Runs([SMALL], ["A"]))
        assert trainer.epoch == 0 and trainer.snapshot().epoch == 0
        trainer.configure(max_epochs=2)
        trainer.play()
        wait_for(lambda: not trainer.playing)
        assert trainer.epoch == 2 and "epoch limit" in str(trainer.snapshot().message)
    finally:
        trainer.close()


def test_target_loss_stops_and_a_dead_session_ends_the_thread():
    trainer = Trainer(Runs([SMALL], ["A"], target_loss=10.0), publish_every=0.0)
    trainer.play()
    wait_for(lambda: not trainer.playing)
    assert trainer.epoch == 1 and "target loss" in str(trainer.snapshot().message)
    alive = [True]
    other = Trainer(Runs([SMALL], ["A"]), alive=lambda: alive[0])
    other.play()
    thread = other._thread
    alive[0] = False  # the browser session ended
    thread.join(timeout=10)
    assert not thread.is_alive() and other.closed


def test_the_thread_ends_when_streamlit_no_longer_knows_the_session(monkeypatch):
    """`ui.playground.session_alive` asks Streamlit's runtime whether the browser session is active, as the page's
    trainer does every second: once the runtime drops it, a playing thread and a paused one both end."""
    import streamlit.runtime.scriptrunner_utils.script_run_context as script_run_context
    from streamlit import runtime

    from ui.playground import session_alive

    active = {"tab-1", "tab-2"}
    monkeypatch.setattr(runtime, "exists", lambda: True)
    monkeypatch.setattr(runtime, "get_instance", lambda: SimpleNamespace(is_active_session=lambda sid: sid in active))
    trainers = []
    for sid in ("tab-1", "tab-2"):
        monkeypatch.setattr(script_run_context, "get_script_run_ctx", lambda suppress_warning=False, sid=sid: SimpleNamespace(session_id=sid))
        trainers.append(Trainer(Runs([SMALL], ["A"]), alive=session_alive()))
    playing, paused = trainers
    playing.play()
    paused.play()
    wait_for(lambda: paused.epoch >= 1)
    paused.pause()
    time.sleep(1.2)  # both threads have checked the session at least once and found it active
    assert playing._thread.is_alive() and paused._thread.is_alive() and not playing.closed
    active.clear()  # the browser tab closed: Streamlit ends the session
    for trainer in trainers:
        trainer._thread.join(timeout=10)
        assert not trainer._thread.is_alive() and trainer.closed
    with pytest.raises(RuntimeError, match="closed"):
        playing.play()


def test_the_live_picture_is_the_boundary_as_pixels_and_keeps_the_previous_one_under_it():
    from PIL import Image

    from core.charts.boundary import CLASS_COLORS, field_picture, picture_slots

    runs = Runs([SMALL], ["A"])
    runs.step()
    panel = runs.panel(0)
    picture = panel.picture
    assert len(picture) == 1 and picture["x1_lo"].iat[0] == panel.field["x1_lo"].min()
    png = picture["boundary_png"].iat[0]
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).convert("RGB"))
    assert image.shape == (50, 50, 3)
    # the cell where p(class 1) is lowest is the bluest pixel; rows run top (highest x2) to bottom
    cell = int(panel.field["p_class1"].idxmin())
    row, col = 49 - cell // 50, cell % 50
    blue = np.array([int(CLASS_COLORS[0][i:i + 2], 16) for i in (1, 3, 5)])
    assert np.abs(image[row, col].astype(int) - (255 - (255 - blue) * 2 * (0.5 - panel.field["p_class1"].min()) * 0.4)).max() <= 2
    spiral = Runs([{**SMALL, "dataset": "spiral", "n_classes": 3}], ["A"])
    assert field_picture(spiral.panel(0).field, 3)["boundary_png"].iat[0].startswith("data:image/png;base64,")

    first = picture_slots(None, picture)
    assert list(first["slot"]) == [0, 1, 2] and picture_slots(first, picture) is first  # unchanged: nothing to send
    runs.step()
    newer = runs.panel(0).picture
    second = picture_slots(first, newer)
    assert list(second["boundary_png"]) == [png, png, newer["boundary_png"].iat[0]]  # the previous ones, the new on top
    assert list(second["order"]) == [1, 2, 3] and list(second["slot"]) == [1, 2, 0]  # the oldest slot is reused
    third = picture_slots(second, picture.assign(boundary_png="data:image/png;base64,AAAA"))
    assert list(third["slot"]) == [2, 0, 1] and third["boundary_png"].iat[1] == newer["boundary_png"].iat[0]


# --- the page ----------------------------------------------------------------------------------------------------


def epoch_shown(at) -> int:
    texts = [m.value for m in at.markdown if m.value.startswith("**Epoch ")]
    assert texts, "no epoch line"
    return int(texts[0].split()[1].rstrip("*"))


def trainer_of(at):
    return at.session_state["pg.trainer"].trainer


@pytest.fixture
def page(app_test):
    """The page with small data (the URL sets it)."""
    return app_test(PAGE, {"pg.points": "100"})


def test_play_pause_step_reset_on_the_page(page):
    at = page
    assert not at.exception and not at.error and epoch_shown(at) == 0
    # the first view: the data and the untrained boundary, its network and empty curves, and what to press
    assert any("ready: press Play" in m.value for m in at.markdown) and len(at.get("vega_lite_chart")) == 4
    assert trainer_of(at).snapshot().panels[0].picture["boundary_png"].iat[0].startswith("data:image/png")
    at.button(key="pg.play").click().run()
    assert [b.label for b in at.button][0] == "Pause"
    wait_for(lambda: trainer_of(at).epoch >= 3)
    at.button(key="pg.pause").click().run()
    paused_at = epoch_shown(at)
    assert paused_at >= 3 and not at.exception
    history = trainer_of(at).snapshot().panels[0].history
    assert history["epoch"].max() == paused_at  # the history grew while it played
    at.run()
    assert epoch_shown(at) == paused_at  # still paused: the state is kept across reruns
    at.button(key="pg.step").click().run()
    assert epoch_shown(at) == paused_at + 1
    at.button(key="pg.reset").click().run()
    assert epoch_shown(at) == 0 and not at.exception


def test_a_model_change_after_training_asks_before_resetting(page):
    at = page
    at.button(key="pg.step").click().run()
    at.select_slider(key="pg.hidden").set_value(16).run()
    assert any("start" in w.value and "over" in w.value for w in at.warning)
    assert epoch_shown(at) == 1  # nothing reset yet
    at.button(key="pg.keep").click().run()
    assert at.select_slider(key="pg.hidden").value == 8 and epoch_shown(at) == 1
    at.select_slider(key="pg.hidden").set_value(16).run()
    at.button(key="pg.apply").click().run()
    assert epoch_shown(at) == 0 and not at.warning
    assert trainer_of(at).snapshot().panels[0].config["hidden"] == 16


def test_side_by_side_trains_two_panels_and_save_stores_both(page, isolated_store):
    at = page
    at.toggle(key="pg.compare").set_value(True).run()
    at.button(key="pg.step").click().run()
    at.button(key="pg.step").click().run()
    assert not at.exception and epoch_shown(at) == 2
    labels = [m.label for m in at.metric]
    assert "A: test loss" in labels and "B: test loss" in labels
    assert [p.label for p in trainer_of(at).snapshot().panels] == ["A", "B: l2 0.01"]  # B's default: A with L2
    assert len(at.get("vega_lite_chart")) == 6  # a boundary and a network per panel, loss and accuracy
    assert Store(isolated_store).runs().empty
    at.button(key="pg.save").click().run()
    assert at.success and not at.exception
    runs = Store(isolated_store).runs()
    assert len(runs) == 2 and set(runs["study"]) == {"classification"} and set(runs["epochs"]) == {2}
    assert sorted(runs["l2"]) == [0.0, 0.01]


def test_save_before_training_says_why_and_stores_nothing(page, isolated_store):
    at = page
    at.button(key="pg.save").click().run()
    assert not at.exception and any(w.value.startswith("Not saved:") for w in at.warning)
    assert Store(isolated_store).runs().empty


def test_settings_come_back_from_the_url(app_test):
    """The page's settings are widgets bound to the URL (the browser writes them there): a link with them opens them."""
    at = app_test(PAGE, {"pg.dataset": "spiral", "pg.n_classes": "3", "pg.depth": "3", "pg.hidden": "16",
                         "pg.activation": "relu", "pg.points": "100"})
    assert not at.exception and not at.error
    config = trainer_of(at).snapshot().panels[0].config
    assert (config["dataset"], config["n_classes"], config["depth"], config["hidden"], config["activation"]) == \
        ("spiral", 3, 3, 16, "relu")
    command = next(c.value for c in at.code if c.value.startswith("python -m core run"))
    assert "--set n_classes=3" in command and "--set depth=3" in command  # the shared run, on the command line


def test_exports_are_png_svg_and_csv():
    from core.charts.boundary import boundary_chart
    from core.charts.playground import chart_bytes, curves_pair
    from core.tables import csv_text

    runs = Runs([SMALL], ["A"])
    runs.step()
    panel = runs.panel(0)
    chart = boundary_chart(panel.field, runs.points, n_classes=2)
    assert chart_bytes(chart, "png").startswith(b"\x89PNG")
    svg = chart_bytes(curves_pair(panel.history, runs=["A"], splits=runs.splits), "svg")
    assert svg.lstrip().startswith(b"<svg") and b"epoch" in svg
    assert csv_text(runs.points).splitlines()[0].split(",")[:2] == ["x1", "x2"]
    with pytest.raises(ValueError, match="format"):
        chart_bytes(chart, "pdf")


def test_leaving_the_page_pauses_training_and_coming_back_keeps_it(isolated_store):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["pg.points"] = "100"
    at.run()
    at.switch_page("pages/playground.py").run()
    at.button(key="pg.play").click().run()
    trainer = trainer_of(at)
    wait_for(lambda: trainer.epoch >= 2)
    assert trainer.playing
    at.switch_page("pages/runs.py").run()  # the router (dashboard.py) runs another page
    assert not at.exception and not trainer.playing
    left_at = trainer.epoch
    time.sleep(0.3)
    assert trainer.epoch == left_at and "you left the Playground" in str(trainer.snapshot().message)
    at.switch_page("pages/playground.py").run()
    assert epoch_shown(at) == left_at and [b.label for b in at.button][0] == "Play"  # kept, paused, ready to go on


SETTINGS = ("Slider", "SelectSlider", "Selectbox", "NumberInput", "Toggle", "ButtonGroup")


def test_every_setting_is_written_to_the_url(app_test):
    """Settings → URL: Streamlit's browser code writes a widget's value to the address when the widget says which
    parameter it is bound to; every setting of the page (side by side and early stopping shown) names its own key."""
    at = app_test(PAGE, {"pg.points": "100", "pg.compare": "true", "pg.stop": "early"})
    found = {}
    for kind in SETTINGS:
        for widget in at.get(kind[0].lower() + "".join("_" + c.lower() if c.isupper() else c for c in kind[1:])):
            key = widget.proto.id.rsplit("-", 1)[-1]
            if key.startswith("pg."):
                found[key] = widget.proto.query_param_key
    assert {"pg.dataset", "pg.hidden", "pg.lr", "pg.speed", "pg.compare", "pg.b.l2", "pg.patience"} <= set(found)
    # a choice shown translated keeps the option, not its label, in the URL: the page writes it (ui.widgets.url_choice)
    written_by_page = {"pg.stop"}
    assert {k: v for k, v in found.items() if v != k and k not in written_by_page} == {}
    assert at.query_params["pg.stop"] in ("early", ["early"])
    at.segmented_control(key="pg.stop").set_value("target").run()
    assert at.query_params["pg.stop"] in ("target", ["target"])


def test_the_download_buttons_give_png_svg_and_csv(app_test, monkeypatch):
    """Each download button's file, made when clicked (the page hands Streamlit a function), is what it says."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made = {}
    add = MediaFileManager.add_deferred

    def keep(self, data, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = (data, mimetype)
        return add(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    at = app_test(PAGE, {"pg.points": "100", "pg.compare": "true"})
    at.button(key="pg.step").click().run()
    at.button(key="pg.step").click().run()
    assert len(at.get("download_button")) == 6 and len(made) == 6
    files = {name: (make(), mime) for name, (make, mime) in made.items()}
    for name, (data, mime) in files.items():
        assert data and mime == {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv"}[name.rsplit(".", 1)[1]]
    assert files["playground-boundary.png"][0].startswith(b"\x89PNG") and files["playground-curves.png"][0].startswith(b"\x89PNG")
    assert b"<svg" in files["playground-boundary.svg"][0][:200] and b"epoch" in files["playground-curves.svg"][0]
    points = files["playground-points.csv"][0].splitlines()
    assert points[0].split(",")[:4] == ["x1", "x2", "label", "split"] and len(points) == 1 + 100
    history = files["playground-history.csv"][0].splitlines()
    assert {"epoch", "split", "loss", "run"} <= set(history[0].split(","))
    assert len(history) == 1 + 2 * 2 * 2  # two runs × two epochs × train and test


def test_b_may_differ_in_learning_rate_in_one_computation_or_in_optimizer_as_a_second_loop(page):
    at = page
    at.toggle(key="pg.compare").set_value(True).run()
    at.select_slider(key="pg.b.l2").set_value("as A").run()
    at.select_slider(key="pg.b.lr").set_value(0.1).run()
    assert not at.exception and trainer_of(at).runs.engines == ["StackedEngine"]  # only a scalar differs: stacked
    at.button(key="pg.step").click().run()
    a, b = trainer_of(at).snapshot().panels
    assert (a.config["lr"], b.config["lr"], b.label) == (0.01, 0.1, "B: lr 0.1") and a.record != b.record
    at.button(key="pg.reset").click().run()
    at.selectbox(key="pg.b.optimizer").set_value("sgd").run()
    runs = trainer_of(at).runs
    assert len(runs.parts) == 2 and runs.panel(1).config["optimizer"] == "sgd"  # another optimizer: a second loop
    assert runs.panel(0).config["optimizer"] == "adam" and runs.labels[1] == "B: lr 0.1, sgd"
