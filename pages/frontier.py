"""Beyond the textbook: double descent, memorisation of random labels, the bias–variance decomposition, label noise."""

from __future__ import annotations

import streamlit as st

from core.charts.compare import overlay_curves
from core.charts.curves import metric_vs, training_curves
from core.charts.frontier import fan_chart, mark_x
from core.descent import error_by_epoch, shape, shape_caption, threshold_peak, with_errors
from core.i18n import N_, _
from core.metrics import derive
from core.selection import stacked_history
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.runner import run_each, warn_if_diverged
from ui.widgets import log_options, param_input, segmented, url_tabs

require_router()

# P as multiples of n: dense around the threshold P = n, out to n/8 and 8n on either side
P_OVER_N = (0.125, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 4.0, 8.0)
GRADIENT_P_OVER_N = (0.25, 0.5, 1.0, 2.0, 8.0)
FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)
NOISE_RATES = (0.0, 0.1, 0.2, 0.4)

st.title(_("Beyond the textbook"))
st.markdown(_(
    "The classic picture — more capacity overfits, regularization cures it — is not the whole story. Networks with "
    "more parameters than examples can fit anything, even random labels, and yet the largest models often generalise "
    "best. Each tab trains real models to show one of these findings, and says so when it does not appear at these "
    "sizes."
))

dd_tab, mem_tab, bv_tab, ln_tab = url_tabs("frontier.tab", {"double-descent": N_("Double descent"), "memorisation": N_("Memorisation"),
                                                            "bias-variance": N_("Bias–variance"), "label-noise": N_("Label noise")})

# --- 1. double descent -----------------------------------------------------------------------------
if dd_tab.open:
    with dd_tab:
        st.markdown(_(
            "**Random features**: a random first layer that is never trained (frozen) turns each image into P ReLU "
            "features, and only the output layer learns — here in closed form, the minimum-norm least-squares fit to "
            "the one-hot labels. With P < n features the model cannot fit the n training images; at P = n it just can, "
            "with huge weights that fit the noise; with P ≫ n many exact fits exist and the one of least norm is "
            "smooth. The test error peaks at the **interpolation threshold P = n** and falls again: **double descent** "
            "(Belkin et al. 2019)."
        ))
        # plain option names: a bound widget's URL holds its labels, so a link names the view
        view = segmented(st, _("view"), ["model-wise", "gradient-trained", "epoch-wise"], "model-wise", key="dd.view",
                         help=_("model-wise: the test error against P, fitted in closed form; gradient-trained: the same "
                                "frozen features with the output layer trained by Adam; epoch-wise: an MLP's test error "
                                "epoch by epoch on noisy labels."))
        c = st.columns(4)
        n = param_input("n_train", study="double-descent", key="dd.n_train", options=[100, 200, 400], container=c[0])
        seed = param_input("seed", study="double-descent", key="dd.seed", options=[0, 1, 2, 3], container=c[1])
        # the epoch-wise view needs wrong labels to memorise; the model-wise view shows the peak without any
        noise_key, noise_default = ("dd.mlp_noise", 0.2) if view == "epoch-wise" else ("dd.label_noise", 0.0)
        noise = param_input("label_noise", study="double-descent", key=noise_key, options=[0.0, 0.1, 0.2, 0.3],
                            default=noise_default, container=c[2])
        base = {"n_train": n, "label_noise": noise, "seed": seed}
        if view == "model-wise":
            ridge = param_input("l2", study="double-descent", key="dd.l2", label=_("ridge l2"),
                                options=log_options(1e-5, 1.0, with_zero=True), container=c[3])
            ps = sorted({max(1, round(n * f)) for f in P_OVER_N})
            ridges = [0.0] + ([ridge] if ridge > 0 else [])
            settings = [({**base, "hidden": p, "l2": r}, _("P = {p}, l2 = {r:g}").format(p=p, r=r)) for r in ridges for p in ps]
            results = run_each("double-descent", settings)
            if results is not None and not warn_if_diverged(results, _("a fit")):
                frame = with_errors(sweep_frame(results))
                series = "l2" if len(ridges) > 1 else None
                threshold = _("P = n = {n}").format(n=n)
                left, right = st.columns(2)
                left.altair_chart(mark_x(metric_vs(frame, "hidden", ["train_error", "test_error"], log_x=True, series=series,
                                                   y_title=_("classification error"),
                                                   title=_("Classification error against the number of features P")),
                                         "hidden", n, threshold))
                # past P = n the training loss is float round-off (1e-14): the axis starts at 1e-4, cutting it off there
                right.altair_chart(mark_x(metric_vs(frame, "hidden", ["train_loss", "test_loss"], log_x=True, log_y=True,
                                                    series=series, y_floor=1e-4,
                                                    title=_("Squared loss against P (log scales)")),
                                          "hidden", n, threshold))
                plain = frame[frame["l2"] == 0.0]
                err = plain.set_index("hidden")["test_error"]
                peak, near = threshold_peak(plain, n)
                m = st.columns(4)
                m[0].metric(_("test error at P = n/4 = {p}").format(p=ps[1]), f"{err[ps[1]]:.1%}")
                m[1].metric(_("test error at P = n = {p}").format(p=n), f"{err[n]:.1%}")
                m[2].metric(_("test error at P = 8n = {p}").format(p=ps[-1]), f"{err[ps[-1]]:.1%}")
                m[3].metric(_("‖W‖ at P = n"), f"{plain.set_index('hidden')['weight_norm'][n]:.3g}",
                            delta=_("{v:.3g} at P = 8n").format(v=plain.set_index('hidden')['weight_norm'][ps[-1]]),
                            delta_color="off")
                st.caption(
                    (_("Without ridge the test loss peaks at P = {peak} — at the threshold (n = {n}) — where the output "
                       "weights are largest: an exact fit with barely enough features must bend to every noisy label.")
                     if near else _("Without ridge the test loss peaks at P = {peak}, away from the threshold n = {n} "
                                    "at these settings.")).format(peak=int(peak), n=n)
                    + (" " + _("With l2 = {r:g} the peak at P = n is {v:.1%} instead of {w:.1%}: a little ridge removes "
                               "the need for huge weights, and the curve descends once.").format(
                        r=ridge, v=float(frame[(frame["l2"] == ridge) & (frame["hidden"] == n)]["test_error"].iloc[0]),
                        w=err[n]) if ridge > 0 else ""))
        elif view == "gradient-trained":
            epochs = param_input("epochs", study="double-descent", key="dd.epochs", options=[50, 100, 200, 400],
                                 default=100, container=c[3])
            ps = sorted({max(1, round(n * f)) for f in GRADIENT_P_OVER_N})
            trained = {**base, "optimizer": "adam", "lr": 0.003, "epochs": epochs, "batch_size": 50}
            results = run_each("double-descent", [({**base, "hidden": p}, _("closed form, P = {p}").format(p=p)) for p in ps]
                               + [({**trained, "hidden": p}, _("Adam, P = {p}").format(p=p)) for p in ps])
            if results is not None and not warn_if_diverged(results, _("a run")):
                frame = with_errors(sweep_frame(results))
                frame["fit"] = frame["optimizer"].map({"lstsq": _("closed form"), "adam": _("Adam, {e} epochs").format(e=epochs)})
                st.altair_chart(mark_x(metric_vs(frame, "hidden", ["test_error"], log_x=True, series="fit",
                                                 title=_("Test error against P: exact fit and gradient steps")),
                                       "hidden", n, _("P = n = {n}").format(n=n)))
                by = frame.set_index(["optimizer", "hidden"])["test_error"]
                st.caption(_(
                    "The first layer stays frozen while Adam trains the output layer from small weights (both engines "
                    "keep it frozen). At P = n the exact fit errs on {a:.1%} of the test images and the gradient-trained "
                    "one on {b:.1%}: stopping after {e} epochs from small weights acts like a ridge, so the peak is lower "
                    "or gone."
                ).format(a=by[("lstsq", n)], b=by[("adam", n)], e=epochs))
        else:
            epochs = param_input("epochs", study="double-descent", key="dd.epochs_mlp", options=[50, 100, 200, 300],
                                 default=100, container=c[3])
            mlp = {**base, "model": "mlp", "optimizer": "adam", "criterion": "cross_entropy", "lr": 0.003, "epochs": epochs,
                   "hidden": 512, "batch_size": 32}
            results = run_each("double-descent", [(mlp, _("an MLP with noisy labels"))])
            if results is not None and not warn_if_diverged(results, _("the run")):
                r = results[0]
                curve = error_by_epoch(r.history)
                st.altair_chart(training_curves(r.history.assign(error=1 - r.history["acc"]), "error",
                                                title=_("Train and test error by epoch ({p:.0%} of labels wrong)").format(
                                                    p=noise)))
                st.caption(_(
                    "Nakkiran et al. (2019) report that large networks trained long on noisy labels show the test error "
                    "falling, rising while they memorise the wrong labels, and falling again. Measured here, {n} digits, "
                    "a 512-unit MLP, {e} epochs: "
                ).format(n=n, e=epochs) + shape_caption(shape(curve["epoch"], curve["error"])))

# --- 2. memorisation -------------------------------------------------------------------------------
if mem_tab.open:
    with mem_tab:
        st.markdown(_(
            "Replace the training labels by classes drawn at random and a network can no longer learn anything true "
            "about the images — yet a large enough MLP still reaches **100% training accuracy**: it memorises every "
            "example. Its test accuracy falls to chance (10%). Zhang et al. (2017) showed this for image networks: the "
            "capacity to fit the training set says nothing about generalisation. Weight decay and dropout slow the "
            "memorising down; they do not stop it."
        ))
        c = st.columns(5)
        values = {
            "random_pixels": param_input("random_pixels", study="memorisation", key="mem.random_pixels", container=c[0]),
            "hidden": param_input("hidden", study="memorisation", key="mem.hidden", options=[128, 256, 512, 1024],
                                  container=c[1]),
            "epochs": param_input("epochs", study="memorisation", key="mem.epochs", options=[30, 60, 100, 200],
                                  default=60, container=c[2]),
            "weight_decay": param_input("weight_decay", study="memorisation", key="mem.weight_decay",
                                        options=log_options(1e-4, 0.1, with_zero=True), container=c[3]),
            "dropout": param_input("dropout", study="memorisation", key="mem.dropout", options=[0.0, 0.2, 0.5],
                                   default=0.0, container=c[4]),
            "train_size": 0.15, "batch_size": 32,
        }
        regularized = values["weight_decay"] > 0 or values["dropout"] > 0
        settings = [({**values, "random_labels": f}, _("{f:.0%} random labels").format(f=f)) for f in FRACTIONS]
        if regularized:
            settings.append(({**values, "random_labels": 1.0, "weight_decay": 0.0, "dropout": 0.0},
                             _("all random labels, no regularization")))
        results = run_each("memorisation", settings)
        if results is not None and not warn_if_diverged(results, _("a run")):
            shown = results[: len(FRACTIONS)]
            frame = sweep_frame(shown)
            labels = [_("{f:.0%} random").format(f=f) for f in FRACTIONS]
            left, right = st.columns(2)
            left.altair_chart(overlay_curves(stacked_history(shown, "run", labels), "acc",
                                             title=_("Train (solid) and test (dotted) accuracy by epoch")))
            right.altair_chart(metric_vs(frame, "random_labels", ["train_acc", "test_acc"],
                                         title=_("Final accuracy against the fraction of random labels")))
            everything = shown[-1].metrics
            m = st.columns(4)
            m[0].metric(_("train accuracy, all labels random"), f"{everything['train_acc']:.1%}")
            m[1].metric(_("test accuracy, all labels random"), f"{everything['test_acc']:.1%}",
                        delta=_("{d:+.1f} points from chance").format(d=100 * (everything["test_acc"] - 0.1)), delta_color="off")
            fits = ["—" if r.metrics.get("epochs_to_fit") is None else r.metrics["epochs_to_fit"] for r in shown]
            m[2].metric(_("epochs to fit, all random"), fits[-1],
                        delta=_("{e} with real labels").format(e=fits[0]), delta_color="off",
                        help=_("The first epoch whose training accuracy reached 99% (all labels random); — never did."))
            if regularized:
                plain = results[-1].metrics.get("epochs_to_fit")
                m[3].metric(_("all random, without regularization"), "—" if plain is None else plain)
            st.caption(_("Epochs to 99% training accuracy with {fractions} random labels: {epochs}.").format(
                fractions=", ".join(f"{f:.0%}" for f in FRACTIONS), epochs=", ".join(map(str, fits))))
            st.caption(_(
                "Test accuracy at chance scatters by a few points from seed to seed — more than 450 independent guesses "
                "would — because similar images tend to get the same random class. "
            ) + (_("With weight decay {wd:g} and dropout {p:g}, fitting all-random labels took {a} epochs against {b} "
                   "without: {verdict}.").format(
                wd=values["weight_decay"], p=values["dropout"], a=fits[-1], b="—" if plain is None else plain,
                verdict=_("within these epochs not at all — train longer to see them fitted") if fits[-1] == "—" else
                _("slowed down, not stopped") if plain is not None and fits[-1] > plain else _("not slowed at these "
                                                                                                 "strengths"))
                 if regularized else _("Add weight decay or dropout above to see them slow the memorising down.")))

# --- 3. bias–variance --------------------------------------------------------------------------------
if bv_tab.open:
    with bv_tab:
        st.markdown(_(
            "Draw many training sets from the same target, fit a model to each, and look at one x: the predictions "
            "scatter. Their mean's distance from the truth is the **bias**, their spread the **variance**, and the "
            "label noise adds an error no model removes. On average over x, **bias² + variance + noise = the expected "
            "test MSE**. Low degrees are biased; high degrees chase each training set's noise, so they vary."
        ))
        c = st.columns(5)
        function = param_input("function", study="bias-variance", key="bv.function", default="cos", container=c[0])
        model = param_input("model", study="bias-variance", key="bv.model", container=c[1])
        shown = param_input("degree", study="bias-variance", key="bv.degree", label=_("degree in the fan"),
                            options=list(range(1, 11)), default=4, container=c[2]) if model == "polynomial" else \
            param_input("hidden", study="bias-variance", key="bv.hidden", label=_("width in the fan"),
                        options=[2, 4, 8, 16, 32, 64], default=8, container=c[2])
        resamples = param_input("resamples", study="bias-variance", key="bv.resamples", options=[20, 50, 100], default=50,
                                container=c[3])
        n_train = param_input("n_train", study="bias-variance", key="bv.n_train", options=[15, 20, 30, 50, 100],
                              default=30, container=c[4])
        base = {"function": function, "x_range": "0..1" if function == "cos" else "-1..1", "model": model,
                "noise": 0.1 if function == "cos" else 0.5, "resamples": resamples, "n_train": n_train}
        if model == "polynomial":
            axis, values = "degree", list(range(1, 11))
        else:
            axis, values = "hidden", [2, 4, 8, 16, 32, 64]
            base.update(optimizer="adam", epochs=300, lr=0.01, resamples=min(resamples, 20))
        results = run_each("bias-variance", [({**base, axis: v}, _("{x} {v}").format(x=axis, v=v)) for v in values])
        if results is not None and not warn_if_diverged(results, _("a fit")):
            frame = sweep_frame(results)
            left, right = st.columns(2)
            left.altair_chart(metric_vs(frame, axis, ["bias2", "variance", "irreducible", "test_loss"], log_y=True,
                                        log_x=axis == "hidden", best="test_loss", y_title=_("mean squared error"),
                                        title=_("Bias², variance, noise and expected test MSE against {x}").format(x=axis)))
            pick = next(r for r in results if r.config[axis] == shown)
            spread = float(frame["test_loss"].min())
            right.altair_chart(fan_chart(pick.frames["fan"], pick.frames["points"],
                                         title=_("{r} fits at {x} = {v} (one training set's points shown)").format(
                                             r=pick.config["resamples"], x=axis, v=shown),
                                         clip=(-2.0, 2.0) if function == "cos" else (0.0, 8.0)))
            table = frame[[axis, "bias2", "variance", "irreducible", "test_loss", "decomposition_error"]].assign(
                **{"bias2 + variance + noise": frame["bias2"] + frame["variance"] + frame["irreducible"]})
            st.dataframe(table, hide_index=True)
            worst = float(frame["decomposition_error"].max())
            best_x = int(frame.loc[frame["test_loss"].idxmin(), axis])
            st.caption(_(
                "Checked numerically: in every row bias² + variance + noise is within {w:.1%} of the test MSE measured "
                "directly (the mean over resamples and test points); the rest is the finite test set's chance "
                "correlation of noise and error. The expected test MSE is lowest at {x} = {b} ({s:.3g}): below it the "
                "bias dominates, above it the variance. At high degrees a few resamples give wild curves, which also "
                "pull the mean prediction away, so the measured bias² creeps up again there."
            ).format(w=worst, x=axis, b=best_x, s=spread))

# --- 4. label noise ----------------------------------------------------------------------------------
if ln_tab.open:
    with ln_tab:
        st.markdown(_(
            "Wrong labels are noise a flexible model will learn if it trains long enough: the training loss (measured "
            "on the noisy labels) keeps falling while the test loss (on true labels) rises, and the **train–test gap** "
            "(test loss − train loss) grows with the noise rate. **Early stopping** on a validation set (with its "
            "labels just as noisy) stops before the memorising and restores the best epoch. Its gap can fall below 0: "
            "a model that has not learnt the wrong labels fits the clean test set better than its own training set. "
            "30% of the digits training set is used, a fifth of it held out for validation."
        ))
        c = st.columns(3)
        patience = param_input("patience", study="early-stopping", key="ln.patience", options=[2, 5, 10, 20], default=5,
                               container=c[0])
        epochs = param_input("epochs", study="early-stopping", key="ln.epochs", options=[30, 60, 100, 200], default=100,
                             container=c[1])
        hidden = param_input("hidden", study="early-stopping", key="ln.hidden", options=[64, 128, 256, 512], default=256,
                             container=c[2])
        base = {"epochs": epochs, "hidden": hidden, "train_size": 0.3}
        results = run_each("early-stopping", [({**base, "label_noise": q, "patience": p},
                                               _("noise {q:.0%}, patience {p}").format(q=q, p=p))
                                              for p in (0, patience) for q in NOISE_RATES])
        if results is not None and not warn_if_diverged(results, _("a run")):
            frame = derive(sweep_frame(results))
            frame["early stopping"] = frame["patience"].map(lambda p: _("patience {p}").format(p=p) if p else _("none"))
            left, right = st.columns(2)
            left.altair_chart(metric_vs(frame, "label_noise", ["gap"], series="early stopping",
                                        title=_("Train–test gap (test loss − train loss) against the noise rate")))
            right.altair_chart(metric_vs(frame, "label_noise", ["test_acc"], series="early stopping",
                                         title=_("Test accuracy against the noise rate")))
            worst = max(NOISE_RATES)
            at = frame[frame["label_noise"] == worst].set_index("patience")
            st.caption(_(
                "With {q:.0%} wrong labels the gap is {a:.3g} after all {e} epochs and {b:.3g} with early stopping "
                "(stopped at epoch {s}, best weights restored); test accuracy {c:.1%} against {d:.1%}."
            ).format(q=worst, a=at.loc[0, "gap"], e=epochs, b=at.loc[patience, "gap"],
                     s=int(at.loc[patience, "epochs_run"]), c=at.loc[0, "test_acc"], d=at.loc[patience, "test_acc"]))
