"""Data strategies: learning curves, augmentation, a validation set for model selection, K-fold, early stopping."""

from __future__ import annotations

import streamlit as st

from core.charts.curves import metric_vs, side_by_side_curves, training_curves
from core.charts.data_strategies import early_stopping_curves, fold_curves, fold_scores
from core.compare import summary_by
from core.data.images import mnist_available
from core.i18n import _
from core.selection import best_epoch, pick_best, stacked_history, value_at
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.runner import run, run_each, warn_if_diverged
from ui.widgets import param_input

require_router()

VAL_DEGREES = (0, 1, 2, 3, 4, 5, 6, 8, 12)

st.title(_("Data strategies"))
st.markdown(
    _("How much data a model sees, and how the data is split, decide what a training run can tell you. Each tab trains "
    "real models: on scikit-learn's 8×8 **digits** (or MNIST where it is on disk) and on the small polynomial set.")
)

lc_tab, aug_tab, val_tab, kf_tab, es_tab = st.tabs(
    [_("Learning curve"), _("Augmentation"), _("Validation set"), _("K-fold"), _("Early stopping")], key="data.tab", bind="query-params"
)

# --- 1. learning curve ----------------------------------------------------------------------------
if lc_tab.open:
    with lc_tab:
        st.markdown(
            _("The same model trained on growing subsets of the digits training set (log-spaced from 5% of it); 20% of "
            "each subset is held out for validation. With few examples the model fits them all and validates badly; "
            "more data closes the gap. If both curves flatten high, the model is too small; if they still approach "
            "each other at the right edge, more data would help.")
        )
        c = st.columns(4)
        values = {
            "model": param_input("model", study="learning-curve", key="lc.model", container=c[0]),
            "hidden": param_input("hidden", study="learning-curve", key="lc.hidden", high=1024, container=c[1]),
            "epochs": param_input("epochs", study="learning-curve", key="lc.epochs", default=20, high=200, container=c[2]),
            "n_sizes": param_input("n_sizes", study="learning-curve", key="lc.n_sizes", low=2, high=10, container=c[3]),
        }
        results = run("learning-curve", values, label=_("the learning curve"))
        if results and not warn_if_diverged(results, _("a run")):
            frame = sweep_frame(results)
            left, right = st.columns(2)
            left.altair_chart(metric_vs(frame, "train_examples", ["train_loss", "val_loss"], log_x=True, log_y=True,
                                        title=_("Train and validation loss against training examples")))
            right.altair_chart(metric_vs(frame, "train_examples", ["train_acc", "val_acc", "test_acc"], log_x=True,
                                         title=_("Train, validation and test accuracy against training examples")))
            small, large = frame.iloc[0], frame.iloc[-1]
            m = st.columns(2)
            m[0].metric(_("gap with {n} examples").format(n=int(small["train_examples"])), f"{small['train_acc'] - small['val_acc']:.1%}",
                        help=_("train accuracy − validation accuracy"))
            m[1].metric(_("gap with {n} examples").format(n=int(large["train_examples"])), f"{large['train_acc'] - large['val_acc']:.1%}",
                        delta=_("validation accuracy {value}").format(value=f"{large['val_acc']:.1%}"), delta_color="off")
            st.caption(_("At the smallest sizes the validation set holds only a dozen images, so its score jumps around; "
                       "the test accuracy (450 fixed images, used for no choice here) is the steadier yardstick."))

# --- 2. augmentation ------------------------------------------------------------------------------
if aug_tab.open:
    with aug_tab:
        have_mnist = mnist_available()
        st.markdown(
            _("With a small training set, **augmentation** makes more of it: each epoch every training image is randomly "
            "rotated (±12°), shifted (±10%) and given a little pixel noise, so the network never sees exactly the same "
            "image twice and cannot simply memorise. Only training batches are transformed; validation and test images "
            "are left alone.")
        )
        c = st.columns(4)
        dataset = param_input("dataset", study="augmentation", key="aug.dataset", options=["mnist", "digits"],
                              default="mnist" if have_mnist else "digits", container=c[0])
        values = {
            "dataset": dataset,
            "train_size": param_input("train_size", study="augmentation", key="aug.train_size", options=[0.02, 0.05, 0.1, 0.2, 0.3, 0.5],
                                      default=0.1, container=c[1]),
            "epochs": param_input("epochs", study="augmentation", key="aug.epochs", default=40, high=300, container=c[2]),
            "hidden": param_input("hidden", study="augmentation", key="aug.hidden", high=1024, container=c[3]),
        }
        if dataset == "digits":
            st.info(_("On 8×8 digits a shift of 10% is less than a pixel and a rotation resamples only 64 pixels, which "
                    "mostly blurs the strokes: augmentation helps far less here than on 28×28 MNIST, and can hurt."))
        pair = run_each("augmentation", [({**values, "augment": False}, _("without augmentation")),
                                         ({**values, "augment": True}, _("with augmentation"))])
        if pair and not warn_if_diverged(pair, _("a run")):
            p, a = pair
            names = ["without augmentation", "with augmentation"]
            st.altair_chart(side_by_side_curves(stacked_history([p, a], "run", names), "run", "acc", order=names,
                                                title=_("Accuracy by epoch, {n} training images").format(n=p.metrics["train_examples"])))
            m = st.columns(4)
            m[0].metric(_("test accuracy without"), f"{p.metrics['test_acc']:.1%}",
                        delta=_("train {value}").format(value=f"{p.metrics['train_acc']:.1%}"), delta_color="off")
            m[1].metric(_("test accuracy with"), f"{a.metrics['test_acc']:.1%}",
                        delta=f"{a.metrics['test_acc'] - p.metrics['test_acc']:+.1%}")
            m[2].metric(_("test loss without"), f"{p.metrics['test_loss']:.3f}")
            m[3].metric(_("test loss with"), f"{a.metrics['test_loss']:.3f}", delta=f"{a.metrics['test_loss'] - p.metrics['test_loss']:+.3f}",
                        delta_color="inverse")
            st.caption(_("Augmented training accuracy is measured on the un-augmented training images, after each epoch."))

# --- 3. validation set for model selection --------------------------------------------------------
if val_tab.open:
    with val_tab:
        st.markdown(
            _("To **choose** a model (here the polynomial degree) you need data the models were not trained on — but not "
            "the test set, or the test error stops being an honest estimate. Hold out part of the training set as a "
            "**validation set**, pick the degree with the lowest validation loss, then report the chosen model's test loss.")
        )
        c = st.columns(3)
        n_train = param_input("n_train", study="polynomial", key="val.n_train", default=30, low=10, high=1000, container=c[0])
        val_fraction = param_input("val_fraction", study="polynomial", key="val.val_fraction", default=0.3,
                                   options=[0.1, 0.2, 0.3, 0.4, 0.5], container=c[1])
        noise = param_input("noise", study="polynomial", key="val.noise", default=0.3, high=2.0, container=c[2])
        base = {"n_train": n_train, "val_fraction": val_fraction, "noise": noise, "batch_size": n_train, "epochs": 100,
                "optimizer": "adam", "lr": 1.0}
        results = run_each("polynomial", [({**base, "degree": d}, _("degree {d}").format(d=d)) for d in VAL_DEGREES])
        if results and not warn_if_diverged(results, _("a fit")):
            frame = sweep_frame(results)
            chosen = pick_best(frame, "val_loss")
            st.altair_chart(metric_vs(frame, "degree", ["train_loss", "val_loss"], log_y=True, best="val_loss",
                                      title=_("Train and validation MSE against degree (log scale)")))
            m = st.columns(3)
            m[0].metric(_("degree chosen by validation"), int(chosen["degree"]))
            m[1].metric(_("its validation MSE"), f"{chosen['val_loss']:.3g}")
            m[2].metric(_("its test MSE (test set used once)"), f"{chosen['test_loss']:.3g}")
            st.caption(_(
                "{trained} examples trained each model and {validated} validated it. Every run also records its test "
                "loss, but only the chosen model's is read here. Picking the degree by the lowest *test* loss instead "
                "would make that number a biased, optimistic estimate: the choice would be tuned to the test set's own noise."
            ).format(trained=int(chosen["train_examples"]), validated=n_train - int(chosen["train_examples"])))

# --- 4. K-fold cross-validation -------------------------------------------------------------------
if kf_tab.open:
    with kf_tab:
        st.markdown(
            _("One validation split is a noisy estimate, and it spends data. **K-fold cross-validation** (scikit-learn's "
            "`KFold`, stratified by class) splits the training set into K parts; each part validates once a model "
            "trained on the other K − 1. The K scores give a mean and a spread.")
        )
        c = st.columns(4)
        folds = c[0].slider(_("folds K"), 2, 10, 5, key="kfold.folds", bind="query-params",
                            help=_("Number of folds: K models, each validated on a different 1/K of the training set."))
        values = {
            "model": param_input("model", study="classification", key="kfold.model", container=c[1]),
            "hidden": param_input("hidden", study="classification", key="kfold.hidden", default=32, high=1024, container=c[2]),
            "epochs": param_input("epochs", study="classification", key="kfold.epochs", default=15, high=200, container=c[3]),
            "train_size": 0.5,
        }
        results = run("classification", values, folds=folds, label=_("{k} folds").format(k=folds))
        if results and not warn_if_diverged(results, _("a fold")):
            frame = sweep_frame(results)
            left, right = st.columns(2)
            left.altair_chart(fold_curves(stacked_history(results, "fold"), "acc",
                                          title=_("Accuracy per fold (solid: validation, dashed: train)")))
            right.altair_chart(fold_scores(frame, "val_acc", title=_("Validation accuracy per fold: mean ± std")))
            stats = summary_by(frame, "folds", ["val_acc", "val_loss"]).iloc[0]
            m = st.columns(3)
            m[0].metric(_("validation accuracy"), f"{stats['val_acc mean']:.1%} ± {stats['val_acc std']:.1%}")
            m[1].metric(_("validation loss"), f"{stats['val_loss mean']:.3f} ± {stats['val_loss std']:.3f}")
            m[2].metric(_("examples per validation fold"), f"{int(results[0].metrics['train_examples'] / (folds - 1))}")
            st.caption(_("The ± is the standard deviation over folds. Half of the digits training set is used, so each "
                       "fold is small enough to show the spread."))

# --- 5. early stopping ----------------------------------------------------------------------------
if es_tab.open:
    with es_tab:
        st.markdown(
            _("With some wrong labels in the training set a large MLP first learns the real pattern, then starts "
            "memorising the wrong labels, and the validation loss turns up. **Early stopping** watches the validation "
            "loss, stops after `patience` epochs without improvement and **restores the weights of the best epoch**.")
        )
        c = st.columns(3)
        values = {
            "patience": param_input("patience", study="early-stopping", key="es.patience", low=1, high=50, container=c[0]),
            "label_noise": param_input("label_noise", study="early-stopping", key="es.label_noise", high=0.6, container=c[1]),
            "epochs": param_input("epochs", study="early-stopping", key="es.epochs", default=60, high=300, container=c[2]),
        }
        pair = run_each("early-stopping", [(values, _("with early stopping")), ({**values, "patience": 0}, _("without early stopping"))])
        if pair and not warn_if_diverged(pair, _("a run")):
            s, f = pair
            best, ran = s.metrics.get("best_epoch"), int(s.metrics["epochs_run"])
            full_best = best_epoch(f.history)
            left, right = st.columns(2)
            left.altair_chart(early_stopping_curves(s.history, best, ran if s.metrics.get("stopped_early") else None,
                                                    title=_("Patience {patience}: dashed = best epoch, red = stopped").format(
                                                        patience=values["patience"])))
            right.altair_chart(training_curves(f.history, mark_epoch=full_best, mark_label=_("lowest val loss"),
                                               title=_("No early stopping: all {epochs} epochs").format(epochs=values["epochs"])))
            m = st.columns(4)
            m[0].metric(_("stopped at epoch"), ran if s.metrics.get("stopped_early") else _("{epochs} (never stopped)").format(epochs=ran))
            m[1].metric(_("best epoch (restored)"), best if best is not None else "—")
            m[2].metric(_("test accuracy, early stopping"), f"{s.metrics['test_acc']:.1%}",
                        delta=_("{delta} vs no stopping").format(delta=f"{s.metrics['test_acc'] - f.metrics['test_acc']:+.1%}"))
            m[3].metric(_("test accuracy, no early stopping"), f"{f.metrics['test_acc']:.1%}")
            if best is not None:
                st.caption(_(
                    "Restored, not merely stopped: the returned model's validation loss is {restored}, the same as the "
                    "history's at epoch {best} ({at_best}), not the last epoch's ({last}). All metrics above come from the "
                    "restored model.").format(restored=f"{s.metrics['val_loss']:.4f}", best=best,
                                              at_best=f"{value_at(s.history, best):.4f}", last=f"{value_at(s.history, ran):.4f}"))
