"""Classification: softmax regression and an MLP on 2-D sets, digits or MNIST; live curves, the decision boundary,
confusion matrix, mistakes, regularization controls, save and load."""

from __future__ import annotations

import streamlit as st

from core.boundary import LIVE_STEPS, boundary_frame, config_points
from core.captions import loss_sees_it_first, overfitting_caption
from core.charts.boundary import boundary_chart
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
from core.lessons import CLASSIFICATION_IMAGES, CLASSIFICATION_POINTS, CURE_WEIGHT_DECAY
from ui.boot import require_router
from ui.callouts import guide_callout
from ui.live import LiveCharts
from ui.runner import run, warn_if_diverged
from ui.upload import table_values
from ui.widgets import param_input

require_router()

STUDY = "classification"
IMAGES = ("digits", "mnist")
POINTS = ("moons", "circles", "xor", "spiral", "gaussians")
# Each kind of data has its own defaults (and widget keys): a 2-D set shows overfitting at first sight with a
# big MLP trained long on few noisy points, one step an epoch; an image epoch is many steps, so fewer epochs.
DEFAULTS = {"points": CLASSIFICATION_POINTS, "images": CLASSIFICATION_IMAGES}
KEY_PREFIX = {"points": "clf.toy.", "images": "clf."}  # images keep the keys links already carry


@st.cache_resource(show_spinner=_("Loading the images…"))
def load_images(dataset: str, seed: int, folder: str):
    """The train/test images exactly as the study splits them (digits' split depends on the seed; MNIST comes from `folder`)."""
    return digits(seed=seed) if dataset == "digits" else mnist(folder)


@st.cache_data(show_spinner=False, max_entries=8)
def score_upload(blob: bytes):
    return evaluate_saved(blob)


@st.cache_data(show_spinner=False, max_entries=16)
def points_of(values: dict):
    return config_points(STUDY, values)


st.title(_("Classification"))
st.markdown(_(
    "**Softmax regression** is one linear layer giving a score per class; an **MLP** puts hidden layers with a "
    "nonlinear activation in between. Both are trained with cross-entropy (the softmax is inside the loss). The "
    "default is a 2-D set, where you can see the decision boundary: an MLP of two wide layers trained long on a few "
    "noisy points. *digits* (scikit-learn's 1,797 8×8 images, offline) and *mnist* (28×28, read from "
    "`$OVERFIT_LAB_DATA`) are flattened into vectors of pixels."
))

c = st.columns(4)
dataset = param_input("dataset", study=STUDY, key="clf.dataset", default=CLASSIFICATION_POINTS["dataset"],
                      options=list(POINTS + IMAGES),
                      container=c[0])
kind = "images" if dataset in IMAGES else "points"
prefix, defaults = KEY_PREFIX[kind], DEFAULTS[kind]
values = {
    "dataset": dataset,
    "model": param_input("model", study=STUDY, key="clf.model", container=c[1]),
    "epochs": param_input("epochs", study=STUDY, key=prefix + "epochs", default=defaults["epochs"], high=1000, container=c[2]),
    "lr": param_input("lr", study=STUDY, key=prefix + "lr", default=defaults["lr"], low=1e-4, high=1.0, container=c[3]),
}
linear = values["model"] == "softmax"
c = st.columns(3)
values["hidden"] = param_input("hidden", study=STUDY, key=prefix + "hidden", default=defaults["hidden"], high=1024,
                               container=c[0], disabled=linear)
values["depth"] = param_input("depth", study=STUDY, key=prefix + "depth", default=defaults["depth"], high=6,
                              container=c[1], disabled=linear)
values["activation"] = param_input("activation", study=STUDY, key="clf.activation", container=c[2], disabled=linear)
with st.expander(_("More settings: regularization, data, optimizer")):
    st.markdown(_("**Regularization** — each of these fights overfitting in its own way:"))
    c = st.columns(5)
    values["dropout"] = param_input("dropout", study=STUDY, key="clf.dropout", high=0.9, step=0.05, container=c[0],
                                    disabled=linear)
    values["weight_decay"] = param_input("weight_decay", study=STUDY, key="clf.weight_decay", label=_("weight decay"),
                                         options=[0.0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3],
                                         container=c[1])
    values["l1"] = param_input("l1", study=STUDY, key="clf.l1", label=_("L1 λ"),
                               options=[0.0, 1e-5, 1e-4, 3e-4, 0.001, 0.003, 0.01], container=c[2])
    values["l2"] = param_input("l2", study=STUDY, key="clf.l2", label=_("L2 λ"),
                               options=[0.0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1], container=c[3])
    values["label_noise"] = param_input("label_noise", study=STUDY, key="clf.label_noise", label=_("label noise"),
                                        high=0.6, step=0.05, container=c[4],
                                        help=_("Fraction of training labels replaced by a wrong class (test labels stay "
                                               "clean): more to memorise, so more overfitting."))
    st.markdown(_("**Data**"))
    c = st.columns(4)
    if kind == "points":
        values["noise"] = param_input("noise", study=STUDY, key="clf.toy.noise", default=CLASSIFICATION_POINTS["noise"],
                                      high=1.0, step=0.05, container=c[0])
        values["n_train"] = param_input("n_train", study=STUDY, key="clf.toy.n_train", default=CLASSIFICATION_POINTS["n_train"],
                                        options=[20, 30, 60, 100, 200, 400, 1000, 3000], container=c[1])
        values["n_test"] = param_input("n_test", study=STUDY, key="clf.toy.n_test",
                                       options=[100, 200, 400, 1000, 3000], container=c[2])
    else:
        values["train_size"] = param_input("train_size", study=STUDY, key="clf.train_size",
                                           options=[0.02, 0.05, 0.1, 0.2, 0.5, 1.0], container=c[0])
    st.markdown(_("**Optimizer**"))
    c = st.columns(3)
    values["optimizer"] = param_input("optimizer", study=STUDY, key="clf.optimizer", container=c[0])
    values["batch_size"] = param_input("batch_size", study=STUDY, key=prefix + "batch_size", default=defaults["batch_size"],
                                       high=1024, container=c[1])
    values["seed"] = param_input("seed", study=STUDY, key="clf.seed", high=100, container=c[2])
if linear:
    for name in ("hidden", "depth", "activation", "dropout"):
        values.pop(name)  # softmax regression has no hidden layer: keep these out of the run's config

# --- the data -----------------------------------------------------------------------------------
data, points = None, None
if kind == "images":
    try:
        data = load_images(values["dataset"], values["seed"], str(data_dir()))
    except DataUnavailable as exc:
        st.error(error_text(exc), icon=":material/inventory_2:")
    if data is not None:
        st.subheader(_("Sample training images"))
        idx = examples_per_class(data.train.y, per_class=2, n_classes=data.n_classes)
        st.image(to_display(data.train.X[idx], size=64), caption=[_("label {label}").format(label=int(data.train.y[i])) for i in idx])
        st.caption(_("{n_train:,} training and {n_test:,} test images of {h}×{w} pixels, values in [0, 1].").format(
            n_train=len(data.train), n_test=len(data.test), h=data.image_shape[1], w=data.image_shape[2]))
else:
    try:
        points = points_of(values)
    except ValueError as exc:
        st.error(_("Cannot run {what}: {why}").format(what=_("classification"), why=error_text(exc)), icon=":material/warning:")

# --- training: the curves (and the boundary) grow while it trains ---------------------------------
name = _("softmax regression") if linear else _("the MLP ({depth}×{hidden} {activation})").format(**values)
ready = data is not None or points is not None
metrics_row = st.container()
left, right = st.columns(2)
loss_title, acc_title = _("Cross-entropy by epoch"), _("Accuracy by epoch")
boundary_left = boundary_right = None
if points is not None:
    boundary_left, boundary_right = st.columns([3, 2])
    n_classes = int(points["label"].max()) + 1
    splits = sorted(set(points["split"]), key=["train", "val", "test"].index)
    X = points[["x1", "x2"]].to_numpy()
    boundary_title = _("Decision boundary, with the training and test points")
live = LiveCharts(
    [lambda h: training_curves(h, "loss", title=loss_title), lambda h: training_curves(h, "acc", title=acc_title)],
    [left, right],
    model_chart=(lambda model: boundary_chart(boundary_frame(model, X, n_classes, LIVE_STEPS), points, n_classes=n_classes,
                                              splits=splits, title=boundary_title)) if points is not None else None,
    model_place=boundary_left,
)
results = run(STUDY, values, label=name, live=live) if ready else None
if results and not warn_if_diverged(results, name):
    r = results[0]
    m = metrics_row.columns(4)
    m[0].metric(_("test accuracy"), f"{r.metrics['test_acc']:.2%}")
    m[1].metric(_("train accuracy"), f"{r.metrics['train_acc']:.2%}",
                delta=_("{gap:+.2%} gap").format(gap=r.metrics["train_acc"] - r.metrics["test_acc"]), delta_color="off")
    m[2].metric(_("test loss"), f"{r.metrics['test_loss']:.4f}")
    m[3].metric(_("parameters"), f"{r.metrics['n_params']:,}")
    live.show(r.history, model=r.model)
    verdict, lesson = overfitting_caption(r.metrics, r.history, int(r.metrics["train_examples"]))

    if points is not None:
        with boundary_right:
            st.markdown(lesson)
            st.markdown(_(
                "Background: the model's probability of class 1, white where it is undecided (0.5). Circles are the "
                "training points with the labels it was trained on (wrong ones included, with label noise), triangles "
                "outlined in black the test points. An overfitting network bends its boundary around single training "
                "points."
            ))
            if verdict == "overfitting":
                st.info(_("One cure: open **More settings** and set weight decay to {wd:g}. It pulls every weight "
                          "towards zero at each step, so the boundary stays smoother and the test loss stops climbing."
                          ).format(wd=CURE_WEIGHT_DECAY), icon=":material/healing:")
    else:
        st.markdown(lesson)
        left, right = st.columns([3, 2])
        left.altair_chart(confusion_heatmap(r.frames["confusion"], title=_("Confusion matrix (test set)")))
        with right:
            wrong = r.frames["misclassified"].head(12)
            conf = r.frames["confusion"]
            n_wrong = int(conf.loc[conf["true"] != conf["predicted"], "count"].sum())
            st.markdown(_("**Misclassified test images**: {n_wrong} of {n_test:,}, the first {shown} shown").format(
                n_wrong=n_wrong, n_test=len(data.test), shown=len(wrong)))
            if len(wrong):
                st.image(to_display(data.test.X[wrong["index"].tolist()], size=56), caption=misclassified_captions(wrong))
                st.caption(_("Caption: true label → predicted label (the model's probability for it)."))
            else:
                st.success(_("Every test image is classified correctly."))

    gap = r.metrics["train_acc"] - r.metrics["test_acc"]
    first = loss_sees_it_first(r.history)
    guide_callout(
        _("overfitting"), "过拟合",
        _("a model overfits when its training error is much lower than its test error."),
        _("here training accuracy is {train:.1%} and test accuracy {test:.1%}, a gap of {gap:+.1%}.").format(
            train=r.metrics["train_acc"], test=r.metrics["test_acc"], gap=gap)
        + (" " + _("The test loss tells more: {first}").format(first=first) if first else ""),
    )

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
        st.error(_("{name}: {why}").format(name=upload.name, why=error_text(exc)), icon=":material/block:")
    except DataUnavailable as exc:
        st.error(_("{name} was trained on data that is not here: {why}").format(name=upload.name, why=error_text(exc)),
                 icon=":material/inventory_2:")
    else:
        u = st.columns(3)
        u[0].metric(_("uploaded model: test accuracy"), f"{scores['acc']:.2%}" if "acc" in scores else "—")
        u[1].metric(_("uploaded model: test loss"), f"{scores['loss']:.4f}")
        u[2].metric(_("study"), study_id)
        keys = ("dataset", "model", "hidden", "depth", "activation", "epochs", "lr", "seed")
        st.caption(_("Saved config: ") + ", ".join(f"{k}={saved[k]}" for k in keys if k in saved))

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
                                             axis_titles=(_("{column} (standardised)").format(column=features[0]), _("{column} (standardised)").format(column=features[1]))))
            right.altair_chart(training_curves(r.history, title=_("Loss by epoch")))
            k = st.columns(2)
            k[0].metric(_("your table: train accuracy"), f"{r.metrics['train_acc']:.1%}")
            k[1].metric(_("your table: test accuracy"), f"{r.metrics['test_acc']:.1%}")
