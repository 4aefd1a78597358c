"""Classification: softmax regression and an MLP on digits or MNIST; curves, confusion matrix, mistakes, save and load."""

from __future__ import annotations

import streamlit as st

from core.charts.classification import (
    confusion_heatmap,
    examples_per_class,
    misclassified_captions,
    to_display,
)
from core.charts.curves import training_curves
from core.checkpoint import CheckpointError, evaluate_saved, to_bytes
from core.data import DataUnavailable, data_dir, digits, mnist
from core.i18n import _, error_text
from ui.boot import require_router
from ui.runner import run, warn_if_diverged
from ui.widgets import param_input

require_router()

STUDY = "classification"


@st.cache_resource(show_spinner=False)
def load_images(dataset: str, seed: int, folder: str):
    """The train/test images exactly as the study splits them (digits' split depends on the seed; MNIST comes from `folder`)."""
    return digits(seed=seed) if dataset == "digits" else mnist(folder)


@st.cache_data(show_spinner=False, max_entries=8)
def score_upload(blob: bytes):
    return evaluate_saved(blob)


st.title(_("Classification"))
st.markdown(
    _("Each image is flattened into a vector of pixels. **Softmax regression** is one linear layer giving a score per "
    "class; an **MLP** puts hidden layers with a nonlinear activation in between. Both are trained with cross-entropy "
    "(the softmax is inside the loss). *digits* is scikit-learn's 1,797 8×8 images and works offline; *mnist* is "
    "28×28, read from the folder in `$OVERFIT_LAB_DATA`.")
)

c = st.columns(4)
values = {
    "dataset": param_input("dataset", study=STUDY, key="clf.dataset", options=["digits", "mnist"], container=c[0]),
    "model": param_input("model", study=STUDY, key="clf.model", container=c[1]),
    "epochs": param_input("epochs", study=STUDY, key="clf.epochs", default=20, high=200, container=c[2]),
    "lr": param_input("lr", study=STUDY, key="clf.lr", low=1e-4, high=1.0, container=c[3]),
}
linear = values["model"] == "softmax"
c = st.columns(3)
values["hidden"] = param_input("hidden", study=STUDY, key="clf.hidden", high=1024, container=c[0], disabled=linear)
values["depth"] = param_input("depth", study=STUDY, key="clf.depth", high=6, container=c[1], disabled=linear)
values["activation"] = param_input("activation", study=STUDY, key="clf.activation", container=c[2], disabled=linear)
with st.expander(_("More settings")):
    c = st.columns(4)
    values["optimizer"] = param_input("optimizer", study=STUDY, key="clf.optimizer", container=c[0])
    values["batch_size"] = param_input("batch_size", study=STUDY, key="clf.batch_size", high=1024, container=c[1])
    values["train_size"] = param_input("train_size", study=STUDY, key="clf.train_size", container=c[2])
    values["seed"] = param_input("seed", study=STUDY, key="clf.seed", high=100, container=c[3])
if linear:
    for name in ("hidden", "depth", "activation"):
        values.pop(name)  # softmax regression has no hidden layer: keep these out of the run's config

# --- the data -----------------------------------------------------------------------------------
try:
    with st.spinner(_("Loading the images…")):
        data = load_images(values["dataset"], values["seed"], str(data_dir()))
except DataUnavailable as exc:
    st.error(error_text(exc), icon=":material/inventory_2:")
    data = None
if data is not None:
    st.subheader(_("Sample training images"))
    idx = examples_per_class(data.train.y, per_class=2, n_classes=data.n_classes)
    st.image(to_display(data.train.X[idx], size=64), caption=[_("label {label}").format(label=int(data.train.y[i])) for i in idx])
    st.caption(_("{train} training and {test} test images of {h}×{w} pixels, values in [0, 1].").format(
        train=f"{len(data.train):,}", test=f"{len(data.test):,}", h=data.image_shape[1], w=data.image_shape[2]))

# --- training -----------------------------------------------------------------------------------
name = _("softmax regression") if linear else _("the MLP ({depth}×{hidden} {activation})").format(
    depth=values["depth"], hidden=values["hidden"], activation=values["activation"])
results = run(STUDY, values, label=name) if data is not None else None
if results and not warn_if_diverged(results, name):
    r = results[0]
    m = st.columns(4)
    m[0].metric(_("test accuracy"), f"{r.metrics['test_acc']:.2%}")
    m[1].metric(_("train accuracy"), f"{r.metrics['train_acc']:.2%}", delta=_("{gap} gap").format(gap=f"{r.metrics['train_acc'] - r.metrics['test_acc']:+.2%}"),
                delta_color="off")
    m[2].metric(_("test loss"), f"{r.metrics['test_loss']:.4f}")
    m[3].metric(_("parameters"), f"{r.metrics['n_params']:,}")
    left, right = st.columns(2)
    left.altair_chart(training_curves(r.history, "loss", title=_("Cross-entropy by epoch")))
    right.altair_chart(training_curves(r.history, "acc", title=_("Accuracy by epoch")))

    left, right = st.columns([3, 2])
    left.altair_chart(confusion_heatmap(r.frames["confusion"]))
    with right:
        wrong = r.frames["misclassified"].head(12)
        conf = r.frames["confusion"]
        n_wrong = int(conf.loc[conf["true"] != conf["predicted"], "count"].sum())
        st.markdown(_("**Misclassified test images**: {wrong} of {total}, the first {shown} shown").format(
            wrong=n_wrong, total=f"{len(data.test):,}", shown=len(wrong)))
        if len(wrong):
            st.image(to_display(data.test.X[wrong["index"].tolist()], size=56), caption=misclassified_captions(wrong))
            st.caption(_("Caption: true label → predicted label (the model's probability for it)."))
        else:
            st.success(_("Every test image is classified correctly."))

    st.subheader(_("Save the model"))
    blob = to_bytes(r.model, STUDY, r.config, {"dataset": r.config["dataset"]})
    st.download_button(
        _("Download the trained model (.safetensors)"), data=blob,
        file_name=f"{STUDY}-{r.config['dataset']}-{r.config['model']}.safetensors", mime="application/octet-stream",
        key="clf.download", on_click="ignore",
        help=_("The weights (safetensors: tensors only, nothing executable) and the config that rebuilds the model."),
    )

st.subheader(_("Load a saved model"))
upload = st.file_uploader(
    _("Upload a saved model to evaluate it on its test set"), type=["safetensors"], key="clf.upload",
    help=_("A file downloaded from this page (or saved with core.checkpoint): the model is rebuilt from its config and scored."),
)
if upload is not None:
    try:
        scores, study_id, saved = score_upload(upload.getvalue())
    except CheckpointError as exc:
        st.error(f"{upload.name}: {error_text(exc)}", icon=":material/block:")
    except DataUnavailable as exc:
        st.error(_("{file} was trained on data that is not here: {problem}").format(file=upload.name, problem=error_text(exc)),
                 icon=":material/inventory_2:")
    else:
        u = st.columns(3)
        u[0].metric(_("uploaded model: test accuracy"), f"{scores['acc']:.2%}" if "acc" in scores else "—")
        u[1].metric(_("uploaded model: test loss"), f"{scores['loss']:.4f}")
        u[2].metric(_("study"), study_id)
        keys = ("dataset", "model", "hidden", "depth", "activation", "epochs", "lr", "seed")
        st.caption(_("Saved config: ") + ", ".join(f"{k}={saved[k]}" for k in keys if k in saved))
