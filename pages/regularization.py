"""Regularization: L2, L1 and weight decay on a high-dimensional regression; dropout; inverted against classic dropout."""

from __future__ import annotations

import streamlit as st

from core import lessons
from core.captions import dropout_caption, penalty_sweep_caption, same_update_caption
from core.charts.curves import side_by_side_curves
from core.charts.regularization import (
    compare_bars,
    dropout_convergence,
    sweep_with_baseline,
    weight_histogram,
)
from core.i18n import N_, _
from core.pipeline import config_data
from core.regularization import (
    PENALTY_METHODS,
    compare_dropout_schemes,
    dropout_facts,
    penalty_values,
    strength_grid,
)
from core.selection import stacked_frames, stacked_history
from core.studies import get_study
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.callouts import guide_callout
from ui.live import LiveCharts
from ui.runner import run_each, warn_if_diverged
from ui.widgets import log_options, param_input, url_choice, url_tabs

require_router()

STUDY = "weight-decay"


@st.cache_data(show_spinner=False, max_entries=32)
def dropout_schemes(p: float, n_masks: int, seed: int):
    result = compare_dropout_schemes(p, n_masks, seed=seed)
    return result.summary, result.running


st.title(_("Regularization"))
st.markdown(_(
    "Regularization (正则化) trades a little training fit for a model that generalises: it limits how large or how many "
    "weights can be used (L2, weight decay, L1), or how much units can rely on each other (dropout)."
))

pen_tab, drop_tab, math_tab = url_tabs("reg.tab", {"penalties": N_("L2, L1 and weight decay"), "dropout": N_("Dropout"),
                                                   "inverted-dropout": N_("Inverted dropout")})

# --- 1. penalties ---------------------------------------------------------------------------------
if pen_tab.open:
    with pen_tab:
        st.markdown(_(
            "A linear model with **200 inputs and only 20 training examples**: y = 0.05 + Σ 0.01·xᵢ + noise. Without a "
            "penalty it has enough weights to fit the 20 examples exactly, noise included, and its test loss is high. "
            "**L2** adds λ/2·‖w‖² to the loss and shrinks every weight a little; **weight decay** multiplies the weights by "
            "(1 − lr·λ) each step, which for SGD is the very same update (compare their numbers below; choose adamw to see "
            "decoupled weight decay differ); **L1** adds λ·Σ|wᵢ| and drives many weights to exactly zero. Every model is "
            "trained for 100 epochs of full-batch gradient descent (lr 0.01)."
        ))
        c = st.columns(4)
        l2 = param_input("l2", study=STUDY, key="pen.l2", label=_("L2 / weight decay λ"), default=3.0,
                         options=log_options(0.001, 100), container=c[0])
        l1 = param_input("l1", study=STUDY, key="pen.l1", label=_("L1 λ"), default=0.1, options=log_options(0.001, 100),
                         container=c[1])
        optimizer = param_input("optimizer", study=STUDY, key="pen.optimizer", container=c[2],
                                help=_("With sgd, momentum and adam, weight decay adds λ·w to the gradient, exactly as the "
                                       "L2 penalty does, so the runs are identical; adamw decays the weights directly "
                                       "(decoupled from Adam's scaling), so there they differ."))
        swept = url_choice(c[3].selectbox, _("method to sweep"), list(PENALTY_METHODS), next(iter(PENALTY_METHODS)), key="pen.method",
                           format_func=_, help=_("The charts at the bottom train this method at several strengths."))
        strengths = {"weight decay": l2, "L2 penalty": l2, "L1 penalty (proximal)": l1, "L1 penalty (subgradient)": l1}
        base = {"optimizer": optimizer, "batch_size": 20, "lr": 0.01}  # full batch: 4× fewer steps than the study's 5
        methods = [None, *PENALTY_METHODS]  # None: no penalty
        labels = {None: _("no penalty"), **{m: _("{method} λ={lam:g}").format(method=_(m), lam=strengths[m])
                                            for m in PENALTY_METHODS}}
        configs = [(base if m is None else {**base, **penalty_values(m, strengths[m])}, labels[m]) for m in methods]
        # the chosen λ of the swept method and up to two decades either side, trained together with the above
        swept_runs = [({**base, **penalty_values(swept, lam)}, _("{method} λ={lam:g}").format(method=_(swept), lam=lam))
                      for lam in strength_grid(strengths[swept])]
        everything = run_each(STUDY, configs + swept_runs)
        results = dict(zip(methods, everything[: len(methods)])) if everything is not None else None
        sweep = everything[len(methods) :] if everything is not None else None
        if results is not None:
            warn_if_diverged(list(results.values()), _("a run"))
            results_ok = {m: r for m, r in results.items() if r.status == "ok"}
        if results is not None and results_ok:
            names = [labels[m] for m in results_ok]
            frame = sweep_frame(list(results_ok.values())).assign(method=names)
            left, right = st.columns(2)
            left.altair_chart(compare_bars(frame, "method", ["train_loss", "test_loss"], order=names, log_x=True,
                                           title=_("Train and test MSE after training (log scale)")))
            right.altair_chart(compare_bars(frame, "method", ["weight_norm"], order=names,
                                            title=_("Weight norm ‖w‖ (biases excluded)")))
            st.dataframe(frame[["method", "train_loss", "test_loss", "weight_norm", "weight_l1", "zero_weights", "n_weights"]],
                         hide_index=True)
            shown = [m for m in (None, "L2 penalty", "L1 penalty (proximal)", "L1 penalty (subgradient)") if m in results_ok]
            weights = stacked_frames([results_ok[m] for m in shown], "weights", "method", [labels[m] for m in shown])
            st.altair_chart(weight_histogram(weights, order=[labels[m] for m in shown], width=170,
                                             title=_("The 200 weights after training (red: exactly 0)")))
            st.caption(_(
                "**Why only the proximal L1 gives exact zeros.** The subgradient version adds λ·sign(w) to the gradient: "
                "each step moves a small weight by lr·λ towards zero, overshoots, and the next step pushes it back, so "
                "it hovers around 0 with a size of about lr·λ but almost never lands on exactly 0.0. The proximal step "
                "(soft-thresholding, as in the Lasso) takes the data step first and then sets every weight with "
                "|w| ≤ lr·λ to exactly 0 and shrinks the others by lr·λ."
            ))
            curves_for = [m for m in (None, "weight decay", "L1 penalty (proximal)") if m in results_ok]
            st.altair_chart(side_by_side_curves(
                stacked_history([results_ok[m] for m in curves_for], "method", [labels[m] for m in curves_for]),
                "method", "loss", order=[labels[m] for m in curves_for], log_y=True, width=220,
                title=_("Train and test MSE by epoch (log scale)")))
            if "weight decay" in results_ok and "L2 penalty" in results_ok:
                same = same_update_caption(results_ok["weight decay"].metrics, results_ok["L2 penalty"].metrics, optimizer, l2)
                guide_callout(
                    _("weight decay"), "权重衰减",
                    _("weight decay is L2 regularization: it adds λ/2·‖w‖² to the loss, which shrinks the weights at "
                      "every step."),
                    same + " " + _("So the two are one thing for plain and momentum SGD (and Adam as written here), "
                                   "but not for AdamW — try the optimizer menu."),
                )

        st.subheader(_("Sweeping the strength of {method}").format(method=_(swept)))
        if sweep is not None and results is not None:
            warn_if_diverged(sweep, _("{method} at some strength").format(method=_(swept)))
            param = PENALTY_METHODS[swept][0]
            sframe = sweep_frame([r for r in sweep if r.status == "ok"])
            none = results[None].metrics
        if sweep and results is not None and len(sframe) and results[None].status == "ok":
            left, right = st.columns(2)
            left.altair_chart(sweep_with_baseline(sframe, param, ["train_loss", "test_loss"],
                                                  {"train_loss": none["train_loss"], "test_loss": none["test_loss"]},
                                                  title=_("Train and test MSE against λ")))
            right.altair_chart(sweep_with_baseline(sframe, param, ["weight_norm"], {"weight_norm": none["weight_norm"]},
                                                   log_y=True, title=_("Weight norm against λ")))
            st.markdown(penalty_sweep_caption(sframe, param, none))

# --- 2. dropout -----------------------------------------------------------------------------------
if drop_tab.open:
    with drop_tab:
        c = st.columns(4)
        values = {
            "label_noise": param_input("label_noise", study="dropout", key="drop.label_noise",
                                       default=lessons.DROPOUT["label_noise"], high=0.6, container=c[1]),
            "epochs": param_input("epochs", study="dropout", key="drop.epochs", default=lessons.DROPOUT["epochs"], high=300,
                                  container=c[2]),
            "train_size": param_input("train_size", study="dropout", key="drop.train_size",
                                      default=lessons.DROPOUT["train_size"], options=[0.05, 0.1, 0.2, 0.5, 1.0],
                                      container=c[3]),
        }
        rate = param_input("dropout", study="dropout", key="drop.dropout", default=lessons.DROPOUT["dropout"], low=0.05,
                           high=0.9, step=0.05, container=c[0])
        noise = values["label_noise"]
        labels_text = (_("with {p:.0%} of its training labels replaced by wrong ones — exactly what a network memorises "
                         "when nothing stops it").format(p=noise) if noise > 0 else
                       _("with clean labels (raise the label noise to give it wrong labels to memorise)"))
        st.markdown(_(
            "**Dropout** (暂退法) zeroes each hidden unit's output with probability p at every training step, so no unit "
            "can rely on particular others, and the network cannot easily memorise single examples. A wide two-layer "
            "MLP is trained on {share:.0%} of the digits, {labels}."
        ).format(share=values["train_size"], labels=labels_text))
        names = [_("no dropout"), _("dropout p = {p:g}").format(p=rate)]
        loss_place, acc_place = st.container(), st.container()
        live = LiveCharts(
            [lambda h: side_by_side_curves(h, "run", "loss", order=names, title=_("Cross-entropy by epoch")),
             lambda h: side_by_side_curves(h, "run", "acc", order=names, title=_("Accuracy by epoch"))],
            [loss_place, acc_place],
        )
        pair = run_each("dropout", [({**values, "dropout": 0.0}, names[0]), ({**values, "dropout": rate}, names[1])],
                        live=live)
        if pair and not warn_if_diverged(pair, _("a run")):
            a, b = pair
            live.show(stacked_history([a, b], "run", names))
            m = st.columns(4)
            m[0].metric(_("test accuracy, no dropout"), f"{a.metrics['test_acc']:.1%}",
                        delta=_("train {acc:.1%}").format(acc=a.metrics["train_acc"]), delta_color="off")
            m[1].metric(_("test accuracy, dropout {p:g}").format(p=rate), f"{b.metrics['test_acc']:.1%}",
                        delta=f"{b.metrics['test_acc'] - a.metrics['test_acc']:+.1%}")
            m[2].metric(_("train − test gap, no dropout"), f"{a.metrics['train_acc'] - a.metrics['test_acc']:.1%}")
            m[3].metric(_("train − test gap, dropout {p:g}").format(p=rate),
                        f"{b.metrics['train_acc'] - b.metrics['test_acc']:.1%}")
            st.markdown(dropout_caption(a.metrics, b.metrics, rate))
            st.caption(_("Train accuracy is measured against the training labels the network was given{wrong}. Losses and "
                         "accuracies are measured in eval mode (dropout off).").format(
                wrong=_(", wrong ones included: near 100% means it memorised them too") if noise > 0 else ""))
            data = config_data(get_study("dropout"), b.config)
            facts = dropout_facts(b.model, data.train.X, data.train.y, seed=b.config["seed"])
            guide_callout(
                _("dropout"), "暂退法",
                _("dropout sets weights to zero during training."),
                _("it zeroes unit *activations*, not weights (zeroing weights is DropConnect). In one training-mode pass "
                  "of this network over its {n:,} training images, {share:.1%} of the non-zero hidden activations were "
                  "set to zero (p = {p:g}) and {zeroed} of its {weights:,} weights became zero.").format(
                    n=len(data.train), share=facts.zeroed_units, p=facts.p, zeroed=facts.zeroed_weights,
                    weights=facts.n_weights),
            )
            guide_callout(
                _("evaluation mode"), "评估模式 model.eval()",
                _("`model.eval()` stops the weights from being updated."),
                _("`eval()` only switches layers such as dropout and batch norm to their test behaviour. On this network "
                  "it changed {eval_changed} weights and moved the training loss from {train_loss:.3f} (dropout on) to "
                  "{eval_loss:.3f} (dropout off); one gradient step taken *in eval mode* then changed {step_changed:,} of "
                  "the {weights:,} weights. What stops updates is not calling `optimizer.step` (and `torch.no_grad()` "
                  "stops recording gradients).").format(
                    eval_changed=facts.eval_changed, train_loss=facts.train_mode_loss, eval_loss=facts.eval_mode_loss,
                    step_changed=facts.step_changed, weights=facts.n_weights),
            )

# --- 3. inverted against classic dropout ----------------------------------------------------------
if math_tab.open:
    with math_tab:
        st.markdown(_(
            "Dropout keeps each unit with probability q = 1 − p. Training and testing must agree on the size of a "
            "layer's input, and there are two ways to make them agree:\n\n"
            "- **classic** (the original paper): train with the kept units as they are, and at test time multiply the "
            "weights (or activations) by q;\n"
            "- **inverted** (what PyTorch's `nn.Dropout` does): divide the kept units by q while training, and use the "
            "network unchanged at test time.\n\n"
            "Below, a small layer y = W·(m ⊙ x) + b with 8 inputs and 3 outputs is run with many random masks m. For "
            "each scheme the average training-time output approaches that scheme's test-time output: "
            "E[W(m⊙x)/q + b] = W·x + b and E[W(m⊙x) + b] = q·W·x + b (the bias is never dropped, so it is never "
            "scaled). The two schemes are the same network up to the factor q in the weights — inverted dropout just "
            "moves it into training, so inference needs no change."
        ))
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
        st.altair_chart(dropout_convergence(running, summary, width=280))
        st.dataframe(linear[["scheme", "unit", "mc_mean", "test_output", "difference", "std_error"]].rename(columns={
            "mc_mean": _("mean over masks (training)"), "test_output": _("test-time output"),
            "difference": _("mean − test"), "std_error": _("standard error")}), hide_index=True)
        worst = float(linear["difference"].abs().max())
        st.metric(_("largest |mean over masks − test-time output|"), f"{worst:.2g}",
                  delta=_("{z:.1f} standard errors").format(z=(linear["difference"].abs() / linear["std_error"]).max()),
                  delta_color="off")
        classic = linear[linear["scheme"] == "classic"]
        guide_callout(
            _("dropout at test time"), "暂退法",
            _("at test time, multiply the weights by p."),
            _("true for *classic* dropout with p the probability of **keeping** a unit. PyTorch's `nn.Dropout(p)` takes "
              "the probability of **dropping** it and scales the kept units by 1/(1 − p) while training, so at test time "
              "nothing is multiplied. Here p = {p:g} is the drop probability: the classic scheme's test-time weights are "
              "q·W = {q:g}·W, and its training-time output averaged over {n:,} masks lands within {gap:.2g} of the "
              "output of those weights.").format(
                p=p, q=1 - p, n=int(n_masks), gap=float(classic["difference"].abs().max())),
        )
        relu = summary[summary["stage"] == "after_relu"]
        with st.expander(_("And after a nonlinearity?")):
            st.markdown(_(
                "The match is exact for the linear layer right after dropout. Past a nonlinearity such as ReLU it is an "
                "approximation (E[relu(z)] ≠ relu(E[z])), which is why test-time scaling is called the *weight scaling "
                "inference rule*: cheap and usually close, not an exact average over all thinned networks."
            ))
            st.dataframe(relu[["scheme", "unit", "mc_mean", "test_output", "difference", "std_error"]], hide_index=True)
