"""Simplified Chinese beside English: the catalogs, the extractor, the language of a run, and every page in Chinese.

After a merge brings new `_()` strings, `test_every_message_has_a_chinese_translation` lists the ids that lack one:
run `python -m core.i18n extract`, fill them in `locale/zh/LC_MESSAGES/overfit_lab.po`, and `python -m core.i18n check`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path

import pytest

from core import i18n
from core.i18n import MessageError, Msg, _, set_language, translate
from tests.conftest import ROOT, load_page
from ui.navigation import PAGES as NAVIGATION

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")

# Texts a Chinese page may show without a Chinese character: identifiers shared across languages (formats, parameter
# values, math, code) and computed tables of them. Anything else English-only is a string someone forgot to wrap.
ALLOWED = [
    r"csv|json|parquet|markdown|html|latex",  # export formats (download buttons)
    r"x₁|x₂|autograd|w|b|id|x1|x2",  # math symbols and names of code
    r"\|.*\|",  # a Markdown summary table: its header is store columns, exported as they are
    r"#\d+ .*",  # a run's label: id, study id and the parameters that tell it apart (identifiers)
    r"[\w.]+ = [-\w., +]+( · [\w.]+ = [-\w., +]+)*",  # a sweep axis or config: `lr = 0.003, 0.01, 0.1`
]
ALLOWED_RE = re.compile("|".join(f"(?:{a})" for a in ALLOWED))
TEXT_KINDS = {"Markdown", "Caption", "Title", "Header", "Subheader", "Info", "Warning", "Error", "Success", "Exception"}

def _tabs(page: str) -> tuple[str | None, list[str]]:
    """The URL key of a page's tabs and their slugs (`url_tabs("x.tab", {"slug": N_("Label"), ...})`); (None, []) without."""
    found = re.search(r'url_tabs\("([^"]+)", \{(.{0,800}?)\}\)', (ROOT / page).read_text(encoding="utf-8"), re.S)
    return (found.group(1), re.findall(r'"([^"]+)": N_\(', found.group(2))) if found else (None, [])


# Every page of the router (pages merged later are covered without editing this file), the URL key of its tabs, their slugs
PAGES = {p.path: _tabs(p.path) for p in NAVIGATION}


def shown_texts(at) -> list[tuple[str, str, str]]:
    """(element kind, attribute, text) of every title, heading, paragraph, message, label, help and tab of a page."""
    out: list[tuple[str, str, str]] = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child)
        kind = type(node).__name__
        for attr in ("label", "help", "placeholder", "value"):
            if attr == "value" and kind not in TEXT_KINDS:
                continue
            try:
                text = getattr(node, attr)
            except Exception:  # noqa: BLE001 - an element without that attribute
                continue
            if isinstance(text, str) and text.strip():
                out.append((kind, attr, text))

    walk(at._tree)
    return out


def untranslated(at) -> list[str]:
    """The texts of a Chinese page with no Chinese character that are not identifiers on the allowlist."""
    return [f"{kind}.{attr}: {text[:90]!r}" for kind, attr, text in shown_texts(at)
            if not CJK.search(text) and not ALLOWED_RE.fullmatch(text.strip())]


# --- the catalogs ---------------------------------------------------------------------------------------------


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    found = i18n.extract()
    assert not found.errors, "strings that cannot be translated:\n" + "\n".join(found.errors)
    lacking = i18n.missing("zh", found.ids)
    assert not lacking, (f"{len(lacking)} message ids have no Chinese entry (run `python -m core.i18n extract`, translate "
                         f"them in {i18n.po_path('zh').relative_to(ROOT)}):\n" +
                         "\n".join(f"  {m!r}  ({found.ids[m][0]})" for m in lacking))
    assert not i18n.mismatched("zh"), "placeholders differ:\n" + "\n".join(i18n.mismatched("zh"))
    assert len(found.ids) > 600  # the extractor really walks pages/, ui/, core/ and the declared names


def test_bold_and_italics_in_chinese_render():
    """CommonMark opens and closes ** and * only beside certain characters: '**权重。**次' stays literal asterisks
    (a closing ** after punctuation must be followed by a space or punctuation). Chinese has no spaces to help."""

    def punct(c: str) -> bool:
        return unicodedata.category(c).startswith(("P", "S"))

    broken = []
    entries = i18n.parse_po(i18n.po_path("zh").read_text(encoding="utf-8"))  # obsolete ones too: they may come back
    for text in [e.msgstr for e in entries if e.msgid and e.msgstr]:
        t = re.sub(r"`[^`]*`", lambda m: "x" * len(m.group()), text)  # code spans hold literal asterisks
        t = re.sub(r"\{[^{}]*\}", "x", t)  # a placeholder's value is usually a word or a number
        for delim in (r"\*\*", r"(?<![*])\*(?![*])"):
            for k, m in enumerate(re.finditer(delim, t)):
                before = t[m.start() - 1] if m.start() else " "
                after = t[m.end()] if m.end() < len(t) else " "
                opens = not after.isspace() and (not punct(after) or before.isspace() or punct(before))
                closes = not before.isspace() and (not punct(before) or after.isspace() or punct(after))
                if not (opens if k % 2 == 0 else closes):
                    broken.append(f"{text[max(0, m.start() - 15):m.end() + 15]!r}")
    assert not broken, "emphasis that will show as asterisks (move the punctuation outside the **):\n" + "\n".join(broken)


def test_the_catalog_is_what_extract_writes(tmp_path):
    """The committed .po holds exactly the ids in use (no stale ones), as extract would leave it."""
    ids = list(i18n.extract().ids)
    entries = i18n.parse_po(i18n.po_path("zh").read_text(encoding="utf-8"))
    current = [e.msgid for e in entries if e.msgid and not e.obsolete]
    assert sorted(current) == sorted(ids), f"run `python -m core.i18n extract`: {sorted(set(ids) ^ set(current))[:10]}"


def test_a_missing_or_fuzzy_translation_falls_back_to_english(tmp_path, monkeypatch):
    po = tmp_path / "zh" / "LC_MESSAGES" / "overfit_lab.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Language: zh\\n"\n\nmsgid "train"\nmsgstr "训练"\n\n'
                  '#, fuzzy\nmsgid "test"\nmsgstr "测"\n\nmsgid "val"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogs", {})
    assert translate("train", "zh") == "训练"
    assert translate("test", "zh") == "test"  # fuzzy: not trusted
    assert translate("val", "zh") == "val"  # empty
    assert translate("never seen", "zh") == "never seen"
    po.write_text("msgid \"train\nthis is not a po file", encoding="utf-8")  # broken: English, no exception
    assert translate("train", "zh") == "train"


def test_po_text_round_trips_escapes_long_lines_and_obsolete_entries():
    entries = [i18n.Entry("", "Language: zh\n"),
               i18n.Entry('a "quoted" \\ text\nwith a newline and a long tail ' + "word " * 40, "引号 \"x\"\n第二行",
                          references=["pages/a.py:3"]),
               i18n.Entry("gone", "已删", obsolete=True)]
    back = i18n.parse_po(i18n.format_po(entries))
    assert [(e.msgid, e.msgstr, e.obsolete) for e in back] == [(e.msgid, e.msgstr, e.obsolete) for e in entries]
    assert back[1].references == ["pages/a.py:3"]


def test_extract_reports_f_strings_and_update_keeps_translations(tmp_path, monkeypatch):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "p.py").write_text(
        'from core.i18n import _, N_\nA = N_("kept")\n_("new {n}").format(n=1)\n_(f"bad {A}")\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "declared_labels", lambda: [])
    found = i18n.extract(tmp_path)
    assert list(found.ids) == ["kept", "new {n}"]
    assert len(found.errors) == 1 and "pages/p.py:4" in found.errors[0] and "f-string" in found.errors[0]
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    po = tmp_path / "locale" / "zh" / "LC_MESSAGES" / "overfit_lab.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "kept"\nmsgstr "保留"\n\nmsgid "old"\nmsgstr "旧"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "ROOT", tmp_path)
    counts = i18n.update_catalog("zh", found, root=tmp_path)
    assert counts == {"ids": 2, "added": 1, "obsolete": 1, "untranslated": 1}
    entries = {e.msgid: e for e in i18n.parse_po(po.read_text(encoding="utf-8"))}
    assert entries["kept"].msgstr == "保留" and entries["new {n}"].msgstr == "" and entries["old"].obsolete


# --- the language of a run -----------------------------------------------------------------------------------


def test_language_is_per_thread_and_a_new_thread_asks_the_resolver():
    seen = {}

    def worker(name, code=None):
        if code:
            set_language(code)
        seen[name] = _("test loss")

    try:
        threads = [threading.Thread(target=worker, args=("zh", "zh")), threading.Thread(target=worker, args=("en", "en"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {"zh": "测试损失", "en": "test loss"}
        assert _("test loss") == "test loss"  # this thread never set one: English (the CLI, the tests)
        i18n.set_resolver(lambda: "zh")  # as ui.language installs it: a fragment's thread asks the session
        t = threading.Thread(target=worker, args=("fragment",))
        t.start()
        t.join()
        assert seen["fragment"] == "测试损失"
    finally:
        from ui.language import _session_language

        i18n.set_resolver(_session_language)


def test_validation_errors_carry_a_message_id_and_stay_english_for_the_cli():
    from core.studies import get_study

    with pytest.raises(MessageError) as caught:
        get_study("polynomial").config({"degree": 99})
    assert str(caught.value) == "degree: 99 is not allowed; expected int in [0, 20]"
    assert caught.value.msg.render("zh") == "degree：不允许取 99；应为 [0, 20] 内的 int"
    assert isinstance(caught.value, ValueError)
    assert Msg("{name}: {value} is not allowed; expected {allowed}", name="x", value="1",
               allowed=Msg("one of {choices}", choices="a|b")).render("zh") == "x：不允许取 1；应为 a|b 之一"


def test_browser_language_from_locale_or_accept_language(monkeypatch):
    import streamlit as st

    from ui import language

    class Context:
        def __init__(self, locale, header):
            self.locale, self.headers = locale, {"Accept-Language": header} if header else {}

    for locale, header, expected in [("zh-CN", "", "zh"), (None, "fr-FR,zh-TW;q=0.8,en;q=0.5", "zh"),
                                     (None, "en;q=0.9,zh;q=0.95", "zh"), ("de-DE", "de", "en"), (None, None, "en")]:
        monkeypatch.setattr(st, "context", Context(locale, header))
        assert language.from_browser() == expected, (locale, header)


# --- the dashboard in both languages ---------------------------------------------------------------------------


def test_the_switch_keeps_lang_in_the_url_and_an_unknown_one_warns():
    at = load_page("dashboard.py", {"lang": "zh"})
    assert not at.exception
    assert at.sidebar.selectbox(key="lang.switch").value == "zh"
    assert at.title[0].value.startswith("Overfit Lab（")
    assert any("各页面讲什么" in s.value for s in at.subheader)
    at.sidebar.selectbox(key="lang.switch").set_value("en").run()
    assert at.subheader[0].value == "What each page teaches" and "lang" not in at.query_params
    at.sidebar.selectbox(key="lang.switch").set_value("zh").run()
    assert at.query_params["lang"] in (["zh"], "zh")
    bad = load_page("dashboard.py", {"lang": "xx"})
    assert not bad.exception
    assert [w.value for w in bad.warning if "lang='xx'" in w.value and "English" in w.value]
    assert bad.subheader[0].value == "What each page teaches"


@pytest.fixture
def train_nothing(monkeypatch):
    """Pages validate the configs they would train but train nothing (what a tab says before its results)."""
    import ui.runner

    def validated(study_id, values, *, folds=None, fold=None, **_kw):
        ui.runner.validate(study_id, values, folds, fold)

    def each(study_id, configs, *, folds=None, **_kw):
        for values, _label in configs:
            ui.runner.validate(study_id, values, folds)

    return lambda: (monkeypatch.setattr(ui.runner, "run", validated), monkeypatch.setattr(ui.runner, "run_each", each),
                    monkeypatch.setattr(ui.runner, "prefetch", lambda *a, **k: None))


@pytest.mark.parametrize("page", list(PAGES), ids=[p.split("/")[1][:-3] for p in PAGES])
def test_every_page_renders_in_both_languages_and_the_chinese_one_is_chinese(page, train_nothing):
    english = load_page(page, {})
    assert not english.exception, english.exception
    chinese = load_page(page, {"lang": "zh"})
    assert not chinese.exception, chinese.exception
    assert CJK.search(chinese.title[0].value) and chinese.title[0].value != english.title[0].value
    labels = [text for kind, attr, text in shown_texts(chinese) if attr == "label"]
    assert labels and all(CJK.search(t) or ALLOWED_RE.fullmatch(t) for t in labels)
    assert not untranslated(chinese), "shown in English on the Chinese page:\n" + "\n".join(untranslated(chinese))
    # every other tab too, opened by its slug in the URL: its text and widgets; its results are captions from the
    # catalog (checked above), so to keep this test short those tabs train nothing
    train_nothing()
    key, slugs = PAGES[page]
    tabs = [t.label for t in chinese.tabs]
    assert len(slugs) == (len(tabs) if key else 0)
    for slug, tab in list(zip(slugs, tabs))[1:]:
        at = load_page(page, {"lang": "zh", key: slug})
        assert not at.exception, (tab, at.exception)
        assert at.session_state[key] == tab  # the slug opened its tab
        assert not untranslated(at), f"shown in English on {page} → {tab}:\n" + "\n".join(untranslated(at))


def test_a_tab_link_keeps_its_tab_in_every_language(train_nothing):
    """A tab's URL value is a slug, not its label: `?lang=zh&reg.tab=inverted-dropout` opens that tab in Chinese, the
    same link in English opens it too, and switching the language keeps it. A label (any language) still opens its
    tab and becomes the slug; a value that names no tab opens the first one and leaves the URL."""
    train_nothing()
    page, key = "pages/regularization.py", "reg.tab"
    at = load_page(page, {"lang": "zh", key: "inverted-dropout"})
    assert not at.exception
    assert at.session_state[key] == "反向暂退法（inverted dropout）" == at.tabs[2].label
    assert [bool(t.children) for t in at.tabs] == [False, False, True]  # only the open tab ran
    at.query_params["lang"] = "en"  # the language switch writes lang; the tab's value stays
    at.run()
    assert at.session_state[key] == "Inverted dropout" == at.tabs[2].label and at.query_params[key] in ("inverted-dropout", ["inverted-dropout"])
    for old in ("Inverted dropout", "反向暂退法（inverted dropout）"):  # links made when the URL held the label
        again = load_page(page, {key: old})
        assert again.session_state[key] == "Inverted dropout"
        assert again.query_params[key] in ("inverted-dropout", ["inverted-dropout"])
    for value in ("garbage", "penalties"):  # no tab, and the first tab: the URL leaves the key out
        plain = load_page(page, {"lang": "zh", key: value})
        assert plain.session_state[key] == plain.tabs[0].label and key not in plain.query_params


def test_refusals_of_files_and_sweep_ranges_are_shown_in_chinese(isolated_store, train_nothing):
    """Import, CSV upload, model file and sweep-range refusals carry message ids: a Chinese page shows them in Chinese, nested
    messages (the parameter a bad imported run names) included, while their str() stays English for the CLI."""
    import json
    import pickle

    from core.data.upload import UploadError, read_table
    from core.store import Store
    from core.studies import config_dict, get_study
    from core.tables import ImportRefused, import_bytes

    config = config_dict(get_study("polynomial").config({}))
    bad_run = json.dumps([{"study": "polynomial", "status": "ok", "config": {**config, "degree": 99}, "metrics": {}}])
    runs = load_page("pages/runs.py", {"lang": "zh"})
    errors = []
    for name, data in [("bad.json", b"[1, 2]"), ("run.json", bad_run.encode())]:
        runs.file_uploader(key="import.file").set_value((name, data, "application/json")).run()
        assert not runs.exception and not untranslated(runs), untranslated(runs)
        errors += [e.value for e in runs.error]
    assert not isolated_store.exists() or Store(isolated_store).count() == 0  # refused: nothing stored
    sweeps = load_page("pages/sweeps.py", {"lang": "zh", "sweep.study": "polynomial", "sweep.polynomial.params": "degree",
                                           "sweep.polynomial.degree.spacing": "list", "sweep.polynomial.degree.list": ", ,"})
    assert not sweeps.exception and not untranslated(sweeps), untranslated(sweeps)
    errors += [e.value for e in sweeps.error]
    train_nothing()  # the Classification page's own model is not what this checks
    clf = load_page("pages/classification.py", {"lang": "zh"})
    clf.file_uploader(key="clf.csv.file").set_value(("one.csv", b"a\n1\n2\n", "text/csv")).run()
    clf.file_uploader(key="clf.upload").set_value(("model.safetensors", b"\x08" + b"\0" * 7 + b"{}", "application/octet-stream")).run()
    assert not clf.exception and not untranslated(clf), untranslated(clf)
    errors += sorted(e.value for e in clf.error)
    assert errors == [
        "导入被拒绝，没有存储任何内容：bad.json：JSON 导出文件是运行的列表（{'study', 'config', 'metrics', 'status'}）；这个文件不是",
        "导入被拒绝，没有存储任何内容：run.json 第 1 次运行：config：degree：不允许取 99；应为 [0, 20] 内的 int",
        "--grid degree：没有给出取值",
        *sorted(["未使用，也未存储任何内容：one.csv：只有一列；表格至少需要两列（特征，以及标签或目标），用逗号分隔",
                 "model.safetensors：不是 Overfit Lab 的模型文件（不是 safetensors：没有有效的文件头长度）"])]
    with pytest.raises(ImportRefused) as refused:  # the CLI's text: English, the same message
        import_bytes(Store(isolated_store), bad_run.encode(), "run.json")
    assert str(refused.value) == "run.json run 1: config: degree: 99 is not allowed; expected int in [0, 20]"
    with pytest.raises(UploadError) as upload:
        read_table(b"a\n1\n2\n", "one.csv")
    back = pickle.loads(pickle.dumps(upload.value))  # as a worker process sends it back
    assert type(back) is UploadError and str(back) == str(upload.value) and back.msg.render("zh").startswith("one.csv：只有一列")


def test_a_failed_sweep_and_training_progress_are_shown_in_the_readers_language(tmp_path, monkeypatch):
    """A sweep runs in a thread of its own (English); what it reports keeps its message ids, so the page that shows
    them (in the reader's thread) translates them: the failure line, with the refusal that stopped it, and progress."""
    import core.pipeline
    from core.i18n import error_text
    from core.store import Store
    from core.sweeps import Axis, SweepFailed, SweepSpec, run_sweep

    real = core.pipeline.setup

    def setup(study, point, bases=None):
        if point.config.degree == 2:
            raise MessageError(Msg("label_noise: applies to classification data only"))
        return real(study, point, bases)

    monkeypatch.setattr(core.pipeline, "setup", setup)
    seen = []
    with pytest.raises(SweepFailed) as info:
        run_sweep(SweepSpec("polynomial", {"epochs": 2}, (Axis("degree", (1, 2)),)), store=Store(tmp_path / "runs.db"),
                  backend="serial", progress=lambda f, text: seen.append(text))
    failed = info.value
    assert str(failed) == (f"sweep {failed.sweep_id} stopped: label_noise: applies to classification data only; "
                           "stored 1 of 2 runs; missing: degree=2")
    assert failed.msg.render("zh") == (f"扫描 {failed.sweep_id} 已停止：label_noise：只适用于分类数据；已存储 1/2 次运行；"
                                       "缺少：degree=2")
    assert "run 1/2: epoch 2/2" in seen  # the CLI's text
    token = i18n._language.set("zh")  # as the page's thread has it
    try:
        assert "第 1/2 次运行：第 2/2 轮" in [error_text(t) for t in seen]
    finally:
        i18n._language.reset(token)


def test_a_choice_shown_translated_keeps_its_option_in_the_url():
    """A segmented control or select box whose options are shown translated keeps the option in the URL, not the
    label shown: `?pg.stop=target` opens it in either language, a change writes the option, and a link made with the
    label (before) still opens it."""
    key = "pg.stop"
    at = load_page("pages/playground.py", {"lang": "zh", key: "target"})
    assert not at.exception and at.segmented_control(key=key).value == "target"
    assert at.segmented_control(key=key).options[1] == translate("a target loss", "zh") == "目标损失"  # shown translated
    assert [s for s in at.select_slider if s.key == "pg.target"]  # the target's own setting is shown
    at.query_params["lang"] = "en"
    at.run()
    assert at.segmented_control(key=key).value == "target" and at.query_params[key] in ("target", ["target"])
    at.segmented_control(key=key).set_value("early").run()
    assert at.query_params[key] in ("early", ["early"])  # the option, not "early stopping" or "提前终止"
    old = load_page("pages/playground.py", {"lang": "zh", key: translate("a target loss", "zh")})
    assert old.segmented_control(key=key).value == "target" and old.query_params[key] in ("target", ["target"])
