"""Data strategies: learning curves, augmentation, a validation set for model selection, K-fold, early stopping."""

from __future__ import annotations

import streamlit as st

from core import lessons
from core.captions import augmentation_caption, early_stopping_caption, kfold_caption, learning_curve_caption
from core.charts.curves import metric_vs, side_by_side_curves
from core.charts.data_strategies import early_stopping_curves, fold_lines
from core.data.augment import AUGMENTS
from core.i18n import N_, _
from core.selection import best_epoch, pick_best, stacked_history, value_at
from core.studies import get_study
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.callouts import guide_callout
from ui.live import LiveCharts
from ui.runner import prefetch, run, run_each, warn_if_diverged
from ui.widgets import param_input, url_tabs

require_router()

DEGREES = lessons.SELECTION_DEGREES

st.title(_("Data strategies"))
st.markdown(_(
    "How much data a model sees, and how the data is split, decide what a training run can tell you. Each tab trains "
    "real models: on scikit-learn's 8×8 **digits** (or MNIST where it is on disk) and on the small polynomial set."
))

lc_tab, aug_tab, val_tab, kf_tab, es_tab = url_tabs("data.tab", {
    "learning-curve": N_("Learning curve"), "augmentation": N_("Augmentation"), "validation-set": N_("Validation set"),
    "k-fold": N_("K-fold"), "early-stopping": N_("Early stopping")})

# --- 1. learning curve ----------------------------------------------------------------------------
LC_RANGE = {"epochs": (1, 200), "n_sizes": (2, 10)}  # the sliders' ranges (a step either way is prefetched)
if lc_tab.open:
    with lc_tab:
        st.markdown(_(
            "The same model trained on growing subsets of the digits training set (log-spaced from 5% of it); 20% of "
            "each subset is held out for validation. Every size gets the same **training budget in examples seen**: "
            "`epochs` passes over the largest subset, and proportionally more over smaller ones (20× smaller, 20× the "
            "epochs), so a small subset is trained to the end rather than stopped after a handful of steps. If both "
            "curves flatten high, the model is too small; if they still approach each other at the right edge, more "
            "data would help."
        ))
        c = st.columns(4)
        values = {
            "model": param_input("model", study="learning-curve", key="lc.model", container=c[0]),
            "hidden": param_input("hidden", study="learning-curve", key="lc.hidden", high=1024, container=c[1]),
            "epochs": param_input("epochs", study="learning-curve", key="lc.epochs", label=_("epochs (largest set)"),
                                  default=lessons.LEARNING_CURVE["epochs"], high=LC_RANGE["epochs"][1], container=c[2]),
            "n_sizes": param_input("n_sizes", study="learning-curve", key="lc.n_sizes",
                                   default=lessons.LEARNING_CURVE["n_sizes"], low=LC_RANGE["n_sizes"][0],
                                   high=LC_RANGE["n_sizes"][1], container=c[3]),
        }
        results = run("learning-curve", values, label=_("the learning curve"))
        # a slider step either way is then already trained (six sizes take about a second; a rerun showing them, 0.2 s)
        prefetch("learning-curve", [{**values, name: values[name] + d} for name, (low, high) in LC_RANGE.items()
                                    for d in (1, -1) if low <= values[name] + d <= high])
        if results and not warn_if_diverged(results, _("a run")):
            frame = sweep_frame(results)
            left, right = st.columns(2)
            left.altair_chart(metric_vs(frame, "train_examples", ["train_loss", "val_loss"], log_x=True, log_y=True,
                                        tight_x=True, title=_("Train and validation loss against training examples")))
            right.altair_chart(metric_vs(frame, "train_examples", ["train_acc", "val_acc", "test_acc"], log_x=True,
                                         tight_x=True, title=_("Accuracy against training examples")))
            small, large = frame.iloc[0], frame.iloc[-1]
            m = st.columns(3)
            m[0].metric(_("training accuracy with {n} examples").format(n=int(small["train_examples"])),
                        f"{small['train_acc']:.1%}", delta=_("loss {loss:.3f}").format(loss=small["train_loss"]),
                        delta_color="off")
            m[1].metric(_("gap with {n} examples").format(n=int(small["train_examples"])),
                        f"{small['train_acc'] - small['val_acc']:.1%}", help=_("train accuracy − validation accuracy"))
            m[2].metric(_("gap with {n} examples").format(n=int(large["train_examples"])),
                        f"{large['train_acc'] - large['val_acc']:.1%}",
                        delta=_("validation accuracy {acc:.1%}").format(acc=large["val_acc"]), delta_color="off")
            st.markdown(learning_curve_caption(frame))
            st.caption(_("At the smallest sizes the validation set holds only a dozen images, so its score jumps around; "
                         "the test accuracy (450 fixed images, used for no choice here) is the steadier yardstick."))

# --- 2. augmentation ------------------------------------------------------------------------------
if aug_tab.open:
    with aug_tab:
        study = get_study("augmentation")
        st.markdown(_(
            "With a small training set, **augmentation** makes more of it: each epoch every training image is randomly "
            "transformed, so the network never sees exactly the same image twice and cannot simply memorise. Only "
            "training batches are transformed; validation and test images are left alone."
        ))
        c = st.columns(4)
        dataset = param_input("dataset", study=study, key="aug.dataset", options=["digits", "mnist"], container=c[0])
        values = {
            "dataset": dataset,
            "train_size": param_input("train_size", study=study, key="aug.train_size",
                                      options=[0.02, 0.05, 0.1, 0.2, 0.5], container=c[1]),
            "epochs": param_input("epochs", study=study, key="aug.epochs", high=300, container=c[2]),
            "hidden": param_input("hidden", study=study, key="aug.hidden", high=1024, container=c[3]),
        }
        recipe = AUGMENTS[dataset]
        if dataset == "digits":
            st.markdown(_(
                "On 8×8 digits the transform is a **random rotation of up to ±{deg:g}°** and nothing else: a shift of "
                "10% is less than a pixel and only blurs the strokes, and pixel noise changed nothing measurable."
            ).format(deg=recipe.degrees))
        else:
            st.markdown(_(
                "On 28×28 MNIST each image is rotated (up to ±{deg:g}°), shifted (up to ±{shift:.0%} of its size) and "
                "given pixel noise (σ = {noise:g})."
            ).format(deg=recipe.degrees, shift=recipe.shift, noise=recipe.noise))
        names = [_("without augmentation"), _("with augmentation")]
        pair = run_each("augmentation", [({**values, "augment": False}, names[0]), ({**values, "augment": True}, names[1])])
        if pair and not warn_if_diverged(pair, _("a run")):
            p, a = pair
            st.altair_chart(side_by_side_curves(stacked_history([p, a], "run", names), "run", "acc", order=names,
                                                title=_("Accuracy by epoch, {n} training images").format(
                                                    n=p.metrics["train_examples"])))
            m = st.columns(4)
            m[0].metric(_("test accuracy without"), f"{p.metrics['test_acc']:.1%}",
                        delta=_("train {acc:.1%}").format(acc=p.metrics["train_acc"]), delta_color="off")
            m[1].metric(_("test accuracy with"), f"{a.metrics['test_acc']:.1%}",
                        delta=f"{a.metrics['test_acc'] - p.metrics['test_acc']:+.1%}")
            m[2].metric(_("test loss without"), f"{p.metrics['test_loss']:.3f}")
            m[3].metric(_("test loss with"), f"{a.metrics['test_loss']:.3f}",
                        delta=f"{a.metrics['test_loss'] - p.metrics['test_loss']:+.3f}", delta_color="inverse")
            st.markdown(augmentation_caption(p.metrics, a.metrics, int(p.metrics["train_examples"])))
            st.caption(_("Augmented training accuracy is measured on the un-augmented training images, after each epoch."))
            guide_callout(
                _("data augmentation"), "数据增强",
                _("transforming the training images (rotating, shifting, adding noise) makes new examples, which acts "
                  "like more data and reduces overfitting."),
                _("test accuracy {a:.1%} → {b:.1%} ({d:+.1%}) with {n} training images. It helps only when the "
                  "transformed images look like ones the test set could hold: on 8×8 digits a shift of a fraction of a "
                  "pixel only blurs, and with shifts and noise the same runs lost accuracy when this default was chosen "
                  "— so this page rotates digits and nothing else.").format(
                    a=p.metrics["test_acc"], b=a.metrics["test_acc"], d=a.metrics["test_acc"] - p.metrics["test_acc"],
                    n=p.metrics["train_examples"]),
            )

# --- 3. validation set for model selection --------------------------------------------------------
if val_tab.open:
    with val_tab:
        st.markdown(_(
            "To **choose** a model (here the polynomial degree) you need data the models were not trained on — but not "
            "the test set, or the test error stops being an honest estimate. Hold out part of the training set as a "
            "**validation set**, pick the degree with the lowest validation loss, then report the chosen model's test loss."
        ))
        c = st.columns(3)
        n_train = param_input("n_train", study="polynomial", key="val.n_train", default=lessons.SELECTION["n_train"],
                              low=10, high=1000, container=c[0])
        val_fraction = param_input("val_fraction", study="polynomial", key="val.val_fraction", default=lessons.VAL_FRACTION,
                                   options=[0.1, 0.2, 0.3, 0.4, 0.5], container=c[1])
        noise = param_input("noise", study="polynomial", key="val.noise", default=lessons.SELECTION["noise"], high=2.0,
                            container=c[2])
        base = {**lessons.SELECTION, "n_train": n_train, "val_fraction": val_fraction, "noise": noise, "batch_size": n_train}
        results = run_each("polynomial", [({**base, "degree": d}, _("degree {d}").format(d=d)) for d in DEGREES])
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
                "{n_fit} examples trained each model and {n_val} validated it. Every run also records its test loss, but "
                "only the chosen model's is read here. Picking the degree by the lowest *test* loss instead would make "
                "that number a biased, optimistic estimate: the choice would be tuned to the test set's own noise."
            ).format(n_fit=int(chosen["train_examples"]), n_val=n_train - int(chosen["train_examples"])))

# --- 4. K-fold cross-validation -------------------------------------------------------------------
if kf_tab.open:
    with kf_tab:
        st.markdown(_(
            "One validation split is a noisy estimate, and it spends data. **K-fold cross-validation** (scikit-learn's "
            "`KFold`) splits the training set into K parts; each part validates once a model trained on the other "
            "K − 1. For each polynomial degree that gives K validation losses: their mean picks the degree, their "
            "spread says how sure the choice is. The data are those of the Validation set tab, all of it used."
        ))
        c = st.columns(3)
        folds = c[0].slider(_("folds K"), 2, 10, lessons.KFOLD_FOLDS, key="kfold.folds", bind="query-params",
                            help=_("Number of folds: K models per degree, each validated on a different 1/K of the "
                                   "training set."))
        n_train = param_input("n_train", study="polynomial", key="kfold.n_train", default=lessons.SELECTION["n_train"],
                              low=10, high=1000, container=c[1])
        noise = param_input("noise", study="polynomial", key="kfold.noise", default=lessons.SELECTION["noise"], high=2.0,
                            container=c[2])
        base = {**lessons.SELECTION, "n_train": n_train, "noise": noise, "batch_size": n_train}
        results = run_each("polynomial", [({**base, "degree": d}, _("degree {d}").format(d=d)) for d in DEGREES],
                           folds=folds)
        if results and not warn_if_diverged(results, _("a fold")):
            frame = sweep_frame(results)
            chosen, text = kfold_caption(frame, "degree", "val_loss")
            left, right = st.columns(2)
            # the mean over folds (a ± std band cannot be drawn on a log axis where std exceeds the mean; the right
            # chart shows every fold instead)
            means = frame.groupby("degree", as_index=False)[["train_loss", "val_loss"]].mean()
            left.altair_chart(metric_vs(means, "degree", ["train_loss", "val_loss"], log_y=True, best="val_loss",
                                        title=_("Mean MSE over the {k} folds against degree").format(k=folds)))
            right.altair_chart(fold_lines(frame, "degree", "val_loss",
                                          title=_("Validation MSE of each fold against degree")))
            picked = frame[frame["degree"] == chosen]
            m = st.columns(3)
            m[0].metric(_("degree chosen by {k}-fold").format(k=folds), int(chosen))
            m[1].metric(_("its validation MSE, mean ± std"),
                        f"{picked['val_loss'].mean():.3g} ± {picked['val_loss'].std():.2g}")
            m[2].metric(_("examples per validation fold"), f"{n_train - int(picked['train_examples'].iloc[0])}")
            st.markdown(text)
            guide_callout(
                _("K-fold cross-validation"), "K折交叉验证",
                _("split the training data into K parts, train K times with a different part held out for validation, "
                  "and average the K validation errors."),
                _("the average picks degree {d} here, from {k} × {n} trained models, and the folds disagree: at degree "
                  "{d} their validation MSE runs from {lo:.3g} to {hi:.3g} (right chart), so the ± matters as much as the "
                  "mean. K-fold chooses a *setting*; the chosen model is then trained on all the training data and "
                  "scored once on the test set.").format(d=chosen, k=folds, n=len(DEGREES), lo=picked["val_loss"].min(),
                                                          hi=picked["val_loss"].max()),
            )

# --- 5. early stopping ----------------------------------------------------------------------------
if es_tab.open:
    with es_tab:
        st.markdown(_(
            "With some wrong labels in the training set a large MLP first learns the real pattern, then starts "
            "memorising the wrong labels, and the validation loss turns up. **Early stopping** watches the validation "
            "loss, stops after `patience` epochs without improvement and **restores the weights of the best epoch**."
        ))
        c = st.columns(3)
        values = {
            "patience": param_input("patience", study="early-stopping", key="es.patience",
                                    default=lessons.EARLY_STOPPING["patience"], low=1, high=50, container=c[0]),
            "label_noise": param_input("label_noise", study="early-stopping", key="es.label_noise",
                                       default=lessons.EARLY_STOPPING["label_noise"], high=0.6, container=c[1]),
            "epochs": param_input("epochs", study="early-stopping", key="es.epochs",
                                  default=lessons.EARLY_STOPPING["epochs"], high=300, container=c[2]),
        }
        names = [_("with early stopping"), _("without early stopping")]
        left, right = st.columns(2)
        loss_title = _("Loss by epoch ({run})")
        live = LiveCharts([lambda h: early_stopping_curves(h[h["run"] == names[0]], None, None,
                                                           title=loss_title.format(run=names[0])),
                           lambda h: early_stopping_curves(h[h["run"] == names[1]], None, None,
                                                           title=loss_title.format(run=names[1]))], [left, right])
        pair = run_each("early-stopping", [(values, names[0]), ({**values, "patience": 0}, names[1])], live=live)
        if pair and not warn_if_diverged(pair, _("a run")):
            s, f = pair
            best, ran = s.metrics.get("best_epoch"), int(s.metrics["epochs_run"])
            full_best = best_epoch(f.history)
            stopped = bool(s.metrics.get("stopped_early"))
            live.final([
                early_stopping_curves(s.history, best, ran if stopped else None,
                                      title=_("Patience {p}: the best epoch restored").format(p=values["patience"])),
                early_stopping_curves(f.history, full_best, None, best_label=_("lowest val loss, epoch {epoch}"),
                                      title=_("No early stopping: all {n} epochs").format(n=values["epochs"])),
            ])
            m = st.columns(4)
            m[0].metric(_("stopped at epoch"), ran if stopped else _("{n} (never stopped)").format(n=ran))
            m[1].metric(_("best epoch (restored)"), best if best is not None else "—")
            m[2].metric(_("test accuracy, early stopping"), f"{s.metrics['test_acc']:.1%}",
                        delta=_("{d:+.1%} vs no stopping").format(d=s.metrics["test_acc"] - f.metrics["test_acc"]))
            m[3].metric(_("test accuracy, no early stopping"), f"{f.metrics['test_acc']:.1%}")
            st.markdown(early_stopping_caption(f.history, values["label_noise"]))
            if best is not None:
                st.caption(_(
                    "Restored, not merely stopped: the returned model's validation loss is {restored:.4f}, the same as "
                    "the history's at epoch {best} ({at_best:.4f}), not the last epoch's ({at_last:.4f}). All metrics "
                    "above come from the restored model."
                ).format(restored=s.metrics["val_loss"], best=best, at_best=value_at(s.history, best),
                         at_last=value_at(s.history, ran)))
            guide_callout(
                _("early stopping"), "提前终止",
                _("stop training when the test error starts to rise."),
                _("stop on a **validation** set the model does not train on, after `patience` epochs without "
                  "improvement, and restore the best epoch's weights. The test set is touched once, at the end: here "
                  "early stopping at epoch {ran} (best {best}) scores {acc:.1%} on it. Choosing the epoch by the test "
                  "error would make that score optimistic.").format(ran=ran, best=best, acc=s.metrics["test_acc"]),
            )
