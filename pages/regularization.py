"""Regularization: L2, L1 and weight decay on a high-dimensional regression; dropout; inverted against classic dropout."""

from __future__ import annotations

import streamlit as st

from core.charts.curves import side_by_side_curves
from core.i18n import _
from core.charts.regularization import (
    compare_bars,
    dropout_convergence,
    sweep_with_baseline,
    weight_histogram,
)
from core.regularization import (
    PENALTY_METHODS,
    compare_dropout_schemes,
    penalty_values,
    strength_grid,
)
from core.selection import stacked_frames, stacked_history
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.language import column_labels
from ui.runner import run_each, warn_if_diverged
from ui.widgets import log_options, param_input

require_router()

STUDY = "weight-decay"


@st.cache_data(show_spinner=False, max_entries=32)
def dropout_schemes(p: float, n_masks: int, seed: int):
    result = compare_dropout_schemes(p, n_masks, seed=seed)
    return result.summary, result.running


st.title(_("Regularization"))
st.markdown(
    _("Regularization trades a little training fit for a model that generalises: it limits how large or how many "
    "weights can be used (L2, weight decay, L1), or how much units can rely on each other (dropout).")
)

pen_tab, drop_tab, math_tab = st.tabs([_("L2, L1 and weight decay"), _("Dropout"), _("Inverted dropout")], key="reg.tab",
                                      bind="query-params")

# --- 1. penalties ---------------------------------------------------------------------------------
if pen_tab.open:
    with pen_tab:
        st.markdown(
            _("A linear model with **200 inputs and only 20 training examples**: y = 0.05 + Σ 0.01·xᵢ + noise. Without a "
            "penalty it has enough weights to fit the 20 examples exactly, noise included, and its test loss is high. "
            "**L2** adds λ/2·‖w‖² to the loss and shrinks every weight a little; **weight decay** multiplies the weights by "
            "(1 − lr·λ) each step, which for SGD is the very same update (compare their numbers below; choose adamw to see "
            "decoupled weight decay differ); **L1** adds "
            "λ·Σ|wᵢ| and drives many weights to exactly zero. Every model is trained for 100 epochs of full-batch "
            "gradient descent (lr 0.01).")
        )
        c = st.columns(4)
        l2 = param_input("l2", study=STUDY, key="pen.l2", label=_("L2 / weight decay λ"), default=3.0,
                         options=log_options(0.001, 100), container=c[0])
        l1 = param_input("l1", study=STUDY, key="pen.l1", label=_("L1 λ"), default=0.1, options=log_options(0.001, 100),
                         container=c[1])
        optimizer = param_input("optimizer", study=STUDY, key="pen.optimizer", container=c[2],
                                help=_("With sgd, momentum and adam, weight decay adds λ·w to the gradient, exactly as the L2 "
                                     "penalty does, so the runs are identical; adamw decays the weights directly "
                                     "(decoupled from Adam's scaling), so there they differ."))
        swept = c[3].selectbox(_("method to sweep"), list(PENALTY_METHODS), key="pen.method", bind="query-params", format_func=_,
                               help=_("The chart at the bottom trains this method at several strengths."))
        strengths = {"weight decay": l2, "L2 penalty": l2, "L1 penalty (proximal)": l1, "L1 penalty (subgradient)": l1}
        base = {"optimizer": optimizer, "batch_size": 20, "lr": 0.01}  # full batch: 4× fewer steps than the study's 5
        labels = ["no penalty"] + [f"{m} λ={strengths[m]:g}" for m in PENALTY_METHODS]
        # the labels pick runs below; the charts and the table show them in the page's language
        display = {"no penalty": _("no penalty"), **{f"{m} λ={strengths[m]:g}": f"{_(m)} λ={strengths[m]:g}" for m in PENALTY_METHODS}}
        configs = [base] + [{**base, **penalty_values(m, strengths[m])} for m in PENALTY_METHODS]
        # the chosen λ of the swept method and up to two decades either side, trained together with the above
        swept_runs = [({**base, **penalty_values(swept, lam)}, f"{swept} λ={lam:g}") for lam in strength_grid(strengths[swept])]
        everything = run_each(STUDY, list(zip(configs, labels)) + swept_runs)
        results = everything[: len(configs)] if everything is not None else None
        sweep = everything[len(configs) :] if everything is not None else None
        if results is not None:
            warn_if_diverged(results, _("a run"))
            ok = [(n, r) for n, r in zip(labels, results) if r.status == "ok"]
            names, runs = [n for n, _r in ok], [r for _n, r in ok]
        if results is not None and runs:
            frame = sweep_frame(runs).assign(method=[display[n] for n in names])
            order = [display[n] for n in names]
            left, right = st.columns(2)
            left.altair_chart(compare_bars(frame, "method", ["train_loss", "test_loss"], order=order, log_y=True,
                                           title=_("Train and test MSE after training (log scale)")))
            right.altair_chart(compare_bars(frame, "method", ["weight_norm"], order=order,
                                            title=_("Weight norm ‖w‖ (biases excluded)")))
            shown_columns = ["method", "train_loss", "test_loss", "weight_norm", "weight_l1", "zero_weights", "n_weights"]
            st.dataframe(frame[shown_columns], hide_index=True,
                         column_config={**column_labels(shown_columns), "method": st.column_config.TextColumn(_("method"))})
            by_name = dict(zip(names, runs))
            shown = [n for n in names if n.startswith(("no penalty", "L2", "L1"))]
            weights = stacked_frames([by_name[n] for n in shown], "weights", "method", [display[n] for n in shown])
            st.altair_chart(weight_histogram(weights, order=[display[n] for n in shown], title=_("The 200 weights after training (red: exactly 0)")))
            st.caption(
                _("**Why only the proximal L1 gives exact zeros.** The subgradient version adds λ·sign(w) to the gradient: "
                "each step moves a small weight by lr·λ towards zero, overshoots, and the next step pushes it back, so "
                "it hovers around 0 with a size of about lr·λ but almost never lands on exactly 0.0. The proximal step "
                "(soft-thresholding, as in the Lasso) takes the data step first and then sets every weight with "
                "|w| ≤ lr·λ to exactly 0 and shrinks the others by lr·λ.")
            )
            curves_for = [n for n in names if n.startswith(("no penalty", "weight decay", "L1 penalty (proximal)"))]
            curve_names = [display[n] for n in curves_for]
            st.altair_chart(side_by_side_curves(stacked_history([by_name[n] for n in curves_for], "method", curve_names),
                                                "method", "loss", order=curve_names, log_y=True,
                                                title=_("Train and test MSE by epoch (log scale)")))

        st.subheader(_("Sweeping the strength of {method}").format(method=_(swept)))
        if sweep is not None and results is not None:
            warn_if_diverged(sweep, _("{method} at some strength").format(method=_(swept)))
            param = PENALTY_METHODS[swept][0]
            sframe = sweep_frame([r for r in sweep if r.status == "ok"])
            none = results[0].metrics
        if sweep and results is not None and len(sframe):
            left, right = st.columns(2)
            left.altair_chart(sweep_with_baseline(sframe, param, ["train_loss", "test_loss"],
                                                  {"train_loss": none["train_loss"], "test_loss": none["test_loss"]},
                                                  title=_("Train and test MSE against {param} (dashed: no penalty)").format(param=param)))
            right.altair_chart(sweep_with_baseline(sframe, param, ["weight_norm"], {"weight_norm": none["weight_norm"]},
                                                   log_y=True, title=_("Weight norm against {param} (dashed: no penalty)").format(param=param)))
            st.caption(_("Too little regularization leaves the memorising fit (train MSE near 0, high test MSE); more "
                       "shrinks the weights and the train MSE rises while the test MSE falls. Far too much would give the "
                       "all-zero model, whose test MSE here is only about 0.02 because the true weights are tiny (0.01), "
                       "so over-regularising costs little on this data set while memorising costs a lot."))

# --- 2. dropout -----------------------------------------------------------------------------------
if drop_tab.open:
    with drop_tab:
        st.markdown(
            _("**Dropout** zeroes each hidden unit with probability p at every training step, so no unit can rely on "
            "particular others, and the network cannot easily memorise single examples. A wide two-layer MLP is "
            "trained on 20% of the digits, with some of its training labels replaced by wrong ones — exactly what a "
            "network memorises when nothing stops it.")
        )
        c = st.columns(4)
        values = {
            "label_noise": param_input("label_noise", study="dropout", key="drop.label_noise", default=0.2, high=0.6,
                                       container=c[1]),
            "epochs": param_input("epochs", study="dropout", key="drop.epochs", default=40, high=300, container=c[2]),
            "train_size": param_input("train_size", study="dropout", key="drop.train_size",
                                      options=[0.05, 0.1, 0.2, 0.5, 1.0], container=c[3]),
        }
        rate = param_input("dropout", study="dropout", key="drop.dropout", low=0.05, high=0.9, step=0.05, container=c[0])
        pair = run_each("dropout", [({**values, "dropout": 0.0}, _("without dropout")),
                                    ({**values, "dropout": rate}, _("with dropout {p}").format(p=f"{rate:g}"))])
        if pair and not warn_if_diverged(pair, _("a run")):
            a, b = pair
            names = ["no dropout", f"dropout p = {rate:g}"]
            hist = stacked_history([a, b], "run", names)
            st.altair_chart(side_by_side_curves(hist, "run", "loss", order=names, title=_("Cross-entropy by epoch")))
            st.altair_chart(side_by_side_curves(hist, "run", "acc", order=names, title=_("Accuracy by epoch")))
            m = st.columns(4)
            m[0].metric(_("test accuracy, no dropout"), f"{a.metrics['test_acc']:.1%}",
                        delta=_("train {value}").format(value=f"{a.metrics['train_acc']:.1%}"), delta_color="off")
            m[1].metric(_("test accuracy, dropout {p}").format(p=f"{rate:g}"), f"{b.metrics['test_acc']:.1%}",
                        delta=f"{b.metrics['test_acc'] - a.metrics['test_acc']:+.1%}")
            m[2].metric(_("train − test gap, no dropout"), f"{a.metrics['train_acc'] - a.metrics['test_acc']:.1%}")
            m[3].metric(_("train − test gap, dropout {p}").format(p=f"{rate:g}"), f"{b.metrics['train_acc'] - b.metrics['test_acc']:.1%}")
            st.caption(_("Train accuracy is measured against the training labels, wrong ones included: near 100% means "
                       "the network has memorised the wrong labels too. Losses and accuracies are measured in eval mode "
                       "(dropout off)."))

# --- 3. inverted against classic dropout ----------------------------------------------------------
if math_tab.open:
    with math_tab:
        st.markdown(
            _("Dropout keeps each unit with probability q = 1 − p. Training and testing must agree on the size of a "
            "layer's input, and there are two ways to make them agree:\n\n"
            "- **classic** (the original paper): train with the kept units as they are, and at test time multiply the "
            "weights (or activations) by q;\n"
            "- **inverted** (what PyTorch's `nn.Dropout` does): divide the kept units by q while training, and use the "
            "network unchanged at test time.\n\n"
            "Below, a small layer y = W·(m ⊙ x) + b with 8 inputs and 3 outputs is run with many random masks m. For "
            "each scheme the average training-time output approaches that scheme's test-time output: "
            "E[W(m⊙x)/q] = W·x and E[W(m⊙x)] = q·W·x. The two schemes are the same network up to the factor q in the "
            "weights — inverted dropout just moves it into training, so inference needs no change.")
        )
        c = st.columns(3)
        p = param_input("dropout", study="dropout", key="math.dropout", label=_("drop probability p"), low=0.05, high=0.9,
                        step=0.05, container=c[0])
        n_masks = c[1].select_slider(_("masks sampled"), options=[10, 100, 1000, 10_000, 100_000], value=10_000,
                                     key="math.n_masks", bind="query-params",
                                     help=_("More masks: the average gets closer to the expectation (error ~ 1/√masks)."))
        seed = c[2].number_input(_("seed"), 0, 10_000, 0, key="math.seed", bind="query-params",
                                 help=_("Draws the layer's weights, its input and the masks."))
        summary, running = dropout_schemes(float(p), int(n_masks), int(seed))
        linear = summary[summary["stage"] == "linear"]
        st.altair_chart(dropout_convergence(running, summary))
        scheme_columns = {"scheme": _("scheme"), "unit": _("unit"), "mc_mean": _("mean over masks (training)"),
                          "test_output": _("test-time output"), "difference": _("mean − test"), "std_error": _("standard error")}
        st.dataframe(linear[list(scheme_columns)].rename(columns=scheme_columns), hide_index=True)
        worst = float(linear["difference"].abs().max())
        st.metric(_("largest |mean over masks − test-time output|"), f"{worst:.2g}",
                  delta=_("{n} standard errors").format(n=f"{(linear['difference'].abs() / linear['std_error']).max():.1f}"),
                  delta_color="off")
        relu = summary[summary["stage"] == "after_relu"]
        with st.expander(_("And after a nonlinearity?")):
            st.markdown(
                _("The match is exact for the linear layer right after dropout. Past a nonlinearity such as ReLU it is an "
                "approximation (E[relu(z)] ≠ relu(E[z])), which is why test-time scaling is called the *weight scaling "
                "inference rule*: cheap and usually close, not an exact average over all thinned networks.")
            )
            st.dataframe(relu[list(scheme_columns)].rename(columns=scheme_columns), hide_index=True)
