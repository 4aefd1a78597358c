"""Classification: softmax regression and an MLP on digits or MNIST; curves, confusion matrix, mistakes, save and load."""

from __future__ import annotations

import streamlit as st

from core.charts.classification import (
    confusion_heatmap,
    examples_per_class,
    misclassified_captions,
    to_display,
)
from core.charts.boundary import boundary_chart
from core.charts.curves import training_curves
from core.checkpoint import CheckpointError, evaluate_saved, to_bytes
from core.data import DataUnavailable, data_dir, digits, mnist
from core.i18n import _
from ui.boot import require_router
from ui.runner import run, warn_if_diverged
from ui.upload import table_values
from ui.widgets import param_input

require_router()

STUDY = "classification"


@st.cache_resource(show_spinner="Loading the images…")
def load_images(dataset: str, seed: int, folder: str):
    """The train/test images exactly as the study splits them (digits' split depends on the seed; MNIST comes from `folder`)."""
    return digits(seed=seed) if dataset == "digits" else mnist(folder)


@st.cache_data(show_spinner=False, max_entries=8)
def score_upload(blob: bytes):
    return evaluate_saved(blob)


st.title("Classification")
st.markdown(
    "Each image is flattened into a vector of pixels. **Softmax regression** is one linear layer giving a score per "
    "class; an **MLP** puts hidden layers with a nonlinear activation in between. Both are trained with cross-entropy "
    "(the softmax is inside the loss). *digits* is scikit-learn's 1,797 8×8 images and works offline; *mnist* is "
    "28×28, read from the folder in `$OVERFIT_LAB_DATA`."
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
with st.expander("More settings"):
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
    data = load_images(values["dataset"], values["seed"], str(data_dir()))
except DataUnavailable as exc:
    st.error(str(exc), icon=":material/inventory_2:")
    data = None
if data is not None:
    st.subheader("Sample training images")
    idx = examples_per_class(data.train.y, per_class=2, n_classes=data.n_classes)
    st.image(to_display(data.train.X[idx], size=64), caption=[f"label {int(data.train.y[i])}" for i in idx])
    st.caption(f"{len(data.train):,} training and {len(data.test):,} test images of {data.image_shape[1]}×{data.image_shape[2]} "
               f"pixels, values in [0, 1].")

# --- training -----------------------------------------------------------------------------------
name = "softmax regression" if linear else f"the MLP ({values['depth']}×{values['hidden']} {values['activation']})"
results = run(STUDY, values, label=name) if data is not None else None
if results and not warn_if_diverged(results, name):
    r = results[0]
    m = st.columns(4)
    m[0].metric("test accuracy", f"{r.metrics['test_acc']:.2%}")
    m[1].metric("train accuracy", f"{r.metrics['train_acc']:.2%}", delta=f"{r.metrics['train_acc'] - r.metrics['test_acc']:+.2%} gap",
                delta_color="off")
    m[2].metric("test loss", f"{r.metrics['test_loss']:.4f}")
    m[3].metric("parameters", f"{r.metrics['n_params']:,}")
    left, right = st.columns(2)
    left.altair_chart(training_curves(r.history, "loss", title="Cross-entropy by epoch"))
    right.altair_chart(training_curves(r.history, "acc", title="Accuracy by epoch"))

    left, right = st.columns([3, 2])
    left.altair_chart(confusion_heatmap(r.frames["confusion"]))
    with right:
        wrong = r.frames["misclassified"].head(12)
        conf = r.frames["confusion"]
        n_wrong = int(conf.loc[conf["true"] != conf["predicted"], "count"].sum())
        st.markdown(f"**Misclassified test images**: {n_wrong} of {len(data.test):,}, the first {len(wrong)} shown")
        if len(wrong):
            st.image(to_display(data.test.X[wrong["index"].tolist()], size=56), caption=misclassified_captions(wrong))
            st.caption("Caption: true label → predicted label (the model's probability for it).")
        else:
            st.success("Every test image is classified correctly.")

    st.subheader("Save the model")
    blob = to_bytes(r.model, STUDY, r.config, {"dataset": r.config["dataset"]})
    st.download_button(
        "Download the trained model (.safetensors)", data=blob,
        file_name=f"{STUDY}-{r.config['dataset']}-{r.config['model']}.safetensors", mime="application/octet-stream",
        key="clf.download", on_click="ignore",
        help="The weights (safetensors: tensors only, nothing executable) and the config that rebuilds the model.",
    )

st.subheader("Load a saved model")
upload = st.file_uploader(
    "Upload a saved model to evaluate it on its test set", type=["safetensors"], key="clf.upload",
    help="A file downloaded from this page (or saved with core.checkpoint): the model is rebuilt from its config and scored.",
)
if upload is not None:
    try:
        scores, study_id, saved = score_upload(upload.getvalue())
    except CheckpointError as exc:
        st.error(f"{upload.name}: {exc}", icon=":material/block:")
    except DataUnavailable as exc:
        st.error(f"{upload.name} was trained on data that is not here: {exc}", icon=":material/inventory_2:")
    else:
        u = st.columns(3)
        u[0].metric("uploaded model: test accuracy", f"{scores['acc']:.2%}" if "acc" in scores else "—")
        u[1].metric("uploaded model: test loss", f"{scores['loss']:.4f}")
        u[2].metric("study", study_id)
        keys = ("dataset", "model", "hidden", "depth", "activation", "epochs", "lr", "seed")
        st.caption("Saved config: " + ", ".join(f"{k}={saved[k]}" for k in keys if k in saved))

# --- your own data (issue 8: an upload section only, at the end; checks and training are the study's, in core) ---
with st.expander(_("Your own data: classify a CSV"), icon=":material/upload_file:"):
    st.markdown(_("Upload a table with two numeric feature columns and a label column (2 to 10 classes), map the columns, "
                  "and train an MLP on it; the features are standardised with the training rows' statistics. The "
                  "Playground trains the same tables live, epoch by epoch."))
    own = table_values("clf.csv", "classification")
    if own is not None:
        c = st.columns(3)
        own["epochs"] = param_input("epochs", study=STUDY, key="clf.csv.epochs", default=100, high=1000, container=c[0])
        own["hidden"] = param_input("hidden", study=STUDY, key="clf.csv.hidden", default=16, high=256, container=c[1])
        own["depth"] = param_input("depth", study=STUDY, key="clf.csv.depth", default=2, high=6, container=c[2])
        own["lr"] = 0.01
        fitted = run(STUDY, own, label=_("your table's classifier"))
        if fitted and not warn_if_diverged(fitted):
            r = fitted[0]
            features = own["x"].split(",")
            left, right = st.columns(2)
            left.altair_chart(boundary_chart(r.frames["boundary"], r.frames["points"],
                                             axis_titles=(f"{features[0]} (standardised)", f"{features[1]} (standardised)")))
            right.altair_chart(training_curves(r.history, title=_("Loss by epoch")))
            k = st.columns(2)
            k[0].metric(_("your table: train accuracy"), f"{r.metrics['train_acc']:.1%}")
            k[1].metric(_("your table: test accuracy"), f"{r.metrics['test_acc']:.1%}")
