"""Neural-network basics: activations and derivatives, softmax temperature, vanishing gradients, a pass by hand, nonlinearity."""

from __future__ import annotations

import streamlit as st

from core import lessons as L
from core import nn_basics as nb
from core.charts.basics import (
    activation_curves,
    decision_boundary,
    gradient_by_depth,
    gradient_by_layer,
    softmax_bars,
    softmax_sweep_chart,
)
from core.i18n import N_, _, error_text
from ui.boot import require_router
from ui.runner import run_each, warn_if_diverged
from ui.widgets import param_input, url_tabs

require_router()


@st.cache_data(show_spinner=False)
def activation_table():
    return nb.activation_table()


@st.cache_data(show_spinner=False)
def gradient_norms(depth: int, init: str, width: int):
    return nb.gradient_norms(depth, init=init, width=width)


@st.cache_data(show_spinner=False)
def toy_points(dataset: str, n_train: int, n_test: int, noise: float, seed: int):
    return nb.toy_points(dataset, n_train, n_test, noise, seed)


st.title(_("Neural-network basics"))
st.markdown(_(
    "A network is layers of `Linear` maps with a **nonlinear activation** between them, trained by following the "
    "gradient of the loss, which **autograd** computes with the chain rule. Everything below is computed live with PyTorch."
))

# Each topic is a tab, bound to the URL; only the open tab computes and draws, so the page answers fast.
act_tab, grad_tab, pass_tab, nonlin_tab = url_tabs("basics.tab", {
    "activations": N_("Activations"), "vanishing-gradients": N_("Vanishing gradients"),
    "forward-backward": N_("Forward and backward"), "why-nonlinearity": N_("Why nonlinearity")})

# --- 1. activations -----------------------------------------------------------------------------
if act_tab.open:
    with act_tab:
        st.header(_("1 · Activation functions and their derivatives"))
        st.markdown(_(
            "The derivative is what backpropagation multiplies by at every layer. **Sigmoid**'s derivative is at most ¼ and "
            "**tanh**'s at most 1, and both fall to almost 0 once |x| is large (the unit *saturates*). **ReLU**'s is exactly 1 "
            "for x > 0 (and 0 below); **LeakyReLU** keeps a small slope (0.01) for x < 0 so a unit is never completely switched off. "
            "The derivatives drawn here come from autograd and are checked against the textbook formulas. "
            "LeakyReLU is dashed: for x > 0 it lies exactly on ReLU."
        ))
        table = activation_table()
        left, right = st.columns(2)
        left.altair_chart(activation_curves(table, "value"))
        right.altair_chart(activation_curves(table, "derivative", title=_("Their derivatives (autograd)")))
        diff_col = _("max |autograd − formula|")
        check = nb.derivative_summary(table).rename(columns={
            "activation": _("activation"), "max_derivative": _("largest derivative"), "max_abs_diff": diff_col})
        st.dataframe(check, hide_index=True, column_config={diff_col: st.column_config.NumberColumn(format="%.1e")})
        st.caption(_("Formulas: σ′ = σ(1 − σ), tanh′ = 1 − tanh², ReLU′ = [x > 0], LeakyReLU′ = 1 if x > 0 else 0.01."))

        st.subheader(_("Softmax with a temperature"))
        st.markdown(_(
            "Softmax turns scores (*logits*) z into probabilities: pᵢ = exp(zᵢ/T) / Σⱼ exp(zⱼ/T). A low **temperature** T "
            "sharpens them towards the largest logit (T → 0 gives a one-hot vector); a high T flattens them towards uniform. "
            "The order of the classes never changes."
        ))
        c = st.columns([2, 3])
        logits_text = c[0].text_input(_("logits z (comma-separated)"), value="2, 1, 0.1, -1", key="softmax.logits", bind="query-params")
        temperature = param_input(nb.PARAMS["temperature"], key="softmax.temperature", label=_("temperature"), container=c[1])
        try:
            logits = nb.parse_logits(logits_text)
        except ValueError as exc:
            st.error(error_text(exc), icon=":material/warning:")
        else:
            probs = nb.softmax_table(logits, temperature)
            left, right = st.columns(2)
            left.altair_chart(softmax_bars(probs))
            right.altair_chart(softmax_sweep_chart(nb.softmax_sweep(logits), temperature))
            p = probs["probability"]
            m = st.columns(3)
            m[0].metric(_("largest probability"), f"{p.max():.3f}")
            m[1].metric(_("entropy (nats)"), f"{nb.entropy(nb.softmax_t(logits, temperature)):.3f}", help=_("0 for one-hot, log k for uniform"))
            m[2].metric(_("uniform would be"), f"{1 / len(p):.3f}")


# --- 2. vanishing gradients ---------------------------------------------------------------------
if grad_tab.open:
    with grad_tab:
        st.header(_("2 · Vanishing gradients: depth against activation"))
        st.markdown(_(
            "Backpropagation multiplies the gradient, layer by layer, by the weights and by the activation's derivative. "
            "Here real MLPs (10 inputs, one output, 64 random inputs and targets, squared loss) of every depth up to the slider "
            "get one backward pass (`backward()`), and we read the norm of the **first layer's** weight gradient — averaged over 3 seeds. "
            "With sigmoid each layer multiplies by at most ¼, so the first layer gets almost nothing in a deep network. "
            "With ReLU and He initialisation the gradient keeps its size. Tanh depends on the initialisation: try *pytorch* "
            "(small weights), where tanh and ReLU shrink too, and *xavier*."
        ))
        c = st.columns(3)
        depth = param_input(nb.PARAMS["depth"], key="grad.depth", label=_("depth"), container=c[0])
        init = param_input(nb.PARAMS["init"], key="grad.init", label=_("init"), container=c[1])
        width = param_input(nb.PARAMS["hidden"], key="grad.hidden", label=_("width"), container=c[2])
        with st.spinner(_("Measuring gradients with autograd…")):
            norms = gradient_norms(depth, init, width)
        left, right = st.columns(2)
        left.altair_chart(gradient_by_depth(nb.first_layer_summary(norms), mark_depth=depth))
        right.altair_chart(gradient_by_layer(norms, depth))
        grads = nb.gradient_table(norms, depth)
        number_columns = {"first-layer gradient norm": _("first-layer gradient norm"), "at depth 1": _("at depth 1"),
                          "ratio to depth 1": _("ratio to depth 1")}
        st.dataframe(grads.rename(columns={"activation": _("activation"), "depth": _("depth"), **number_columns}), hide_index=True,
                     column_config={c: st.column_config.NumberColumn(format="%.3e") for c in number_columns.values()})
        st.caption(L.gradient_caption(grads) + " " + _("Initialisation *{init}*: {help}").format(init=init, help=_(nb.INIT_HELP[init])))


# --- 3. forward and backward by hand ------------------------------------------------------------
if pass_tab.open:
    with pass_tab:
        st.header(_("3 · One forward and backward pass, by hand and by autograd"))
        st.markdown(_(
            "A 2–3–1 network on one sample (x, y): z₁ = W₁x + b₁, h = f(z₁), ŷ = W₂h + b₂, loss L = (ŷ − y)². "
            "Going backwards, the chain rule gives each gradient from the one after it: ∂L/∂ŷ = 2(ŷ − y), "
            "∂L/∂W₂ = ∂L/∂ŷ·hᵀ, ∂L/∂h = W₂ᵀ∂L/∂ŷ, ∂L/∂z₁ = ∂L/∂h ⊙ f′(z₁), ∂L/∂W₁ = ∂L/∂z₁·xᵀ. "
            "The *by hand* column evaluates these formulas; the *autograd* column is what `backward()` put in `.grad` "
            "(and, for z₁, h, ŷ, `retain_grad()`)."
        ))
        c = st.columns(5)
        x1 = param_input(nb.PARAMS["x1"], key="tiny.x1", label="x₁", container=c[0])
        x2 = param_input(nb.PARAMS["x2"], key="tiny.x2", label="x₂", container=c[1])
        target = param_input(nb.PARAMS["target"], key="tiny.target", label=_("target y"), container=c[2])
        tiny_act = param_input(nb.PARAMS["activation"], key="tiny.activation", label=_("activation"), container=c[3])
        tiny_seed = param_input(nb.PARAMS["seed"], key="tiny.seed", high=100, label=_("weights seed"), container=c[4])
        tiny = nb.tiny_pass((x1, x2), target, tiny_act, tiny_seed)
        fmt = {"by_hand": st.column_config.NumberColumn(_("by hand"), format="%.6f"),
               "autograd": st.column_config.NumberColumn(_("autograd"), format="%.6f"),
               "abs_diff": st.column_config.NumberColumn(_("|difference|"), format="%.1e"),
               "quantity": st.column_config.TextColumn(_("quantity")),
               "entry": st.column_config.TextColumn(_("entry")),
               "formula": st.column_config.TextColumn(_("formula"))}
        forward, backward = tiny[tiny["pass"] == "forward"], tiny[tiny["pass"] == "backward"]
        m = st.columns(3)
        m[0].metric(_("loss L"), f"{tiny.loc[tiny['quantity'] == 'L', 'autograd'].iloc[0]:.6f}")
        m[1].metric(_("max |by hand − autograd|"), f"{tiny['abs_diff'].max():.1e}")
        m[2].metric(_("gradient entries checked"), int((tiny["pass"] == "backward").sum()))
        st.markdown(_("**Forward pass**"))
        st.dataframe(forward.drop(columns="pass"), hide_index=True, column_config=fmt)
        st.markdown(_("**Backward pass** (from the loss back to the input)"))
        st.dataframe(backward.drop(columns="pass"), hide_index=True, column_config=fmt, height=35 * (len(backward) + 1) + 3)
        with st.expander(_("The weights (drawn from the seed)")):
            st.dataframe(nb.weight_frame(tiny_seed), hide_index=True, column_config={
                "weight": st.column_config.TextColumn(_("weight")), "entry": st.column_config.TextColumn(_("entry")),
                "value": st.column_config.NumberColumn(_("value"))})


# --- 4. why nonlinearity matters ----------------------------------------------------------------
if nonlin_tab.open:
    with nonlin_tab:
        st.header(_("4 · Why nonlinearity matters"))
        st.markdown(_(
            "Stacking linear layers without an activation is still one linear map, so its decision boundary is a straight line. "
            "**Softmax regression** (one linear layer) cannot separate *xor* or *circles*; an **MLP with one hidden layer** "
            "and a nonlinear activation can bend its boundary around the classes. Both are trained the same way (Adam, "
            "cross-entropy) on the same points."
        ))
        c = st.columns(5)
        toy = {
            "dataset": param_input("dataset", study="classification", key="nonlin.dataset", default="xor",
                                   options=["xor", "circles", "moons", "spiral"], label=_("dataset"), container=c[0]),
            "noise": param_input("noise", study="classification", key="nonlin.noise", high=1.0, label=_("noise"), container=c[1]),
            "epochs": param_input("epochs", study="classification", key="nonlin.epochs", high=200, label=_("epochs"), container=c[4]),
            "lr": 0.01,
            "n_train": 400,
            "n_test": 400,
        }
        hidden = param_input("hidden", study="classification", key="nonlin.hidden", default=32, high=256, label=_("hidden"), container=c[2])
        activation = param_input("activation", study="classification", key="nonlin.activation", label=_("activation"), container=c[3])
        pair = run_each("classification", [({**toy, "model": "softmax"}, _("softmax regression")),
                                           ({**toy, "model": "mlp", "depth": 1, "hidden": hidden, "activation": activation},
                                            _("the one-hidden-layer MLP"))])
        if pair:
            linear, nonlinear = pair
            warn_if_diverged([linear], _("softmax regression"))
            warn_if_diverged([nonlinear], _("the MLP"))
            cfg = linear.config
            points = toy_points(cfg["dataset"], cfg["n_train"], cfg["n_test"], cfg["noise"], cfg["seed"])
            left, right = st.columns(2)
            for col, res, name in ((left, linear, _("Softmax regression (linear)")),
                                   (right, nonlinear, _("MLP, 1 hidden layer of {hidden} {activation} units").format(
                                       hidden=hidden, activation=activation))):
                with col:
                    if res.status == "ok" and "boundary" in res.frames:
                        col.altair_chart(decision_boundary(res.frames["boundary"], points, title=name))
                        a, b = st.columns(2)
                        a.metric(_("test accuracy"), f"{res.metrics['test_acc']:.1%}")
                        b.metric(_("train accuracy"), f"{res.metrics['train_acc']:.1%}")
            st.caption(_("Background: the model's P(class 1) over the plane (the boundary is where the colour turns); "
                         "dots: the training points. Accuracies are on 400 fresh test points."))
