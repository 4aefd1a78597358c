"""Regression: linear regression from scratch, with nn.Linear and in closed form; multivariate; polynomial."""

from __future__ import annotations

import inspect

import streamlit as st

from core import lessons as L
from core.charts.curves import training_curves
from core.charts.regression import coefficient_bars, fit_plot, polynomial_fit, weights_compare
from core.i18n import N_, _
from core.models import ManualSGD, ScratchLinearRegression
from core.selection import stacked_history
from ui.boot import require_router
from ui.callouts import guide_callout
from ui.runner import prefetch, run, run_each, warn_if_diverged
from ui.upload import table_values
from ui.widgets import param_input, url_tabs

require_router()

st.title(_("Regression"))
st.markdown(_(
    "Linear regression is the smallest network: one linear layer and a squared loss. "
    "Here it is trained three ways on the same data — **from scratch** (weights from `randn`, bias from `zeros`, "
    "`requires_grad=True`, and the hand-written step `w -= lr * w.grad`), with **`nn.Linear`** and a torch optimizer, "
    "and in **closed form** from the normal equations."
))

# Each part is a tab, bound to the URL; only the open tab trains and draws, so sliders answer fast.
uni_tab, multi_tab, poly_tab = url_tabs("regression.tab", {"one-input": N_("One input"), "several-inputs": N_("Several inputs"),
                                                          "polynomial": N_("Polynomial")})


def pair(result, w: str = "w", b: str = "b") -> str:
    """'w, b' of a run, short enough for a metric whatever their size; 'diverged' when training blew up."""
    if result.status != "ok":
        return _("diverged")
    return f"{L.num(result.metrics.get(w, float('nan')))}, {L.num(result.metrics.get(b, float('nan')))}"


# --- 1. univariate --------------------------------------------------------------------------------
if uni_tab.open:
    with uni_tab:
        st.header(_("1 · One input: y = 2·x + 4.2 + noise"))
        c = st.columns(5)
        values = {
            "n_train": param_input("n_train", study="linear-regression", key="uni.n_train", low=10, high=1000, label=_("n train"), container=c[0]),
            "noise": param_input("noise", study="linear-regression", key="uni.noise", high=3.0, label=_("noise"), container=c[1]),
            "epochs": param_input("epochs", study="linear-regression", key="uni.epochs", high=100, label=_("epochs"), container=c[2]),
            "lr": param_input("lr", study="linear-regression", key="uni.lr", low=1e-4, high=1.0, label=_("lr"), container=c[3]),
            "batch_size": param_input("batch_size", study="linear-regression", key="uni.batch_size", high=1000, label=_("batch size"),
                                      container=c[4]),
        }
        clear = st.toggle(
            _("Clear the gradient before every step"), value=True, key="uni.clear_grad", bind="query-params",
            help=_("PyTorch *adds* each backward() into .grad. Without zeroing it, every step uses the sum of all past gradients."),
        )
        trained = run_each("linear-regression", [({**values, "model": "scratch", "clear_grad": clear}, _("the from-scratch model")),
                                              ({**values, "model": "linear", "clear_grad": clear}, _("the nn.Linear model"))])
        if trained:
            s, l = trained
            warn_if_diverged([s], _("the from-scratch model"))
            left, right = st.columns(2)
            with left:
                if s.status == "ok":
                    st.altair_chart(fit_plot(s.frames["points"], s.frames["fit"], title=_("Data, true line, trained and closed-form fits")))
                    if L.line_leaves(s.frames["fit"], s.frames["points"]):
                        st.caption(_("The trained line (w = {w}, b = {b}) runs far outside the data, so the chart cuts it at "
                                     "its edges: the y range stays the data's.").format(w=L.num(s.metrics["w"]), b=L.num(s.metrics["b"])))
            with right:
                both = stacked_history([s, l], "model", ["scratch", "nn.Linear"])
                st.altair_chart(training_curves(both, run="model", log_y=True, title=_("MSE by epoch (log scale)")))
            m1, m2, m3 = st.columns(3)
            m1.metric(_("from scratch: w, b"), pair(s))
            m2.metric(_("nn.Linear: w, b"), pair(l))
            if s.status == "ok":
                m3.metric(_("closed form: w, b"), pair(s, "closed_form_w", "closed_form_b"))
            # the guide's claim is about not clearing: measure it on these settings even while the toggle is on
            kept = [s] if not clear else run("linear-regression", {**values, "model": "scratch", "clear_grad": False},
                                                  label=_("the from-scratch model without clearing"))
            swings = L.loss_swings(kept[0].history) if kept else None
            if swings:
                guide_callout(
                    _("gradients not cleared"), "梯度清零",
                    _("forgetting `zero_grad()` causes an exponential gradient explosion."),
                    _("accumulation is additive: `.grad` holds the sum of every gradient so far, so each step moves by the "
                      "running sum — like momentum that never decays. The weights overshoot and swing back. Without "
                      "clearing, {measured}").format(measured=L.accumulation_text(swings, values["lr"])),
                )
            if not clear:
                st.info(_(
                    "Gradients are **not** cleared: each step applies the sum of every gradient so far. That is why a "
                    "training loop calls `optimizer.zero_grad()` (or `w.grad.zero_()`) before each `backward()`."
                ))
            with st.expander(_("The from-scratch code (the source that just ran)")):
                st.markdown(_(
                    "The model and its step, from `core/models.py`. The one training loop (`core.training.fit`) calls, "
                    "for each mini-batch: `zero_grad()` (skipped when the toggle is off), the loss, its backward pass, then "
                    "`step()`."
                ))
                st.code(inspect.getsource(ScratchLinearRegression) + "\n\n" + inspect.getsource(ManualSGD), language="python")


# --- 2. multivariate ------------------------------------------------------------------------------
if multi_tab.open:
    with multi_tab:
        st.header(_("2 · Several inputs: y = X·w + b + noise"))
        c = st.columns(3)
        mv = run(
            "multivariate-regression",
            {
                "n_features": param_input("n_features", study="multivariate-regression", key="multi.n_features", high=20,
                                          label=_("n features"), container=c[0]),
                "noise": param_input("noise", study="multivariate-regression", key="multi.noise", high=2.0, label=_("noise"), container=c[1]),
                "n_train": param_input("n_train", study="multivariate-regression", key="multi.n_train", low=10, high=2000,
                                       label=_("n train"), container=c[2]),
            },
            label=_("multivariate regression"),
        )
        if mv and not warn_if_diverged(mv):
            r = mv[0]
            st.altair_chart(weights_compare(r.frames["weights"], title=_("Learned, closed-form and true weights"),
                                            names={"true": _("true"), "learned": _("learned"), "closed_form": _("closed form")}))
            st.caption(_("‖w − w_true‖ = {error}; test MSE = {test}").format(error=f"{r.metrics['weight_error']:.4f}",
                                                                          test=f"{r.metrics['test_loss']:.4f}"))


# --- 3. polynomial --------------------------------------------------------------------------------
if poly_tab.open:
    with poly_tab:
        st.header(_("3 · Polynomial regression"))
        st.markdown(_(
            "Data from y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + noise, with features x⁰…x^degree (divided by i! so high powers "
            "stay small). **Degree 3** matches the truth; **1** cannot bend enough (underfitting: both losses high); "
            "**20** on few points bends through every one of them and swings wildly between and beyond them "
            "(overfitting: train loss low, test loss huge). Each degree is fitted twice: in **closed form** (least "
            "squares — the best this degree can do) and by **gradient descent**, which moves the tiny high-power "
            "features so slowly that after a few hundred epochs it is still close to a smooth curve."
        ))
        view = L.POLYNOMIAL_VIEW
        c = st.columns(4)
        values = {
            "degree": param_input("degree", study="polynomial", key="poly.degree", default=view["degree"], label=_("degree"), container=c[0]),
            "n_train": param_input("n_train", study="polynomial", key="poly.n_train", default=view["n_train"], low=5, high=1000,
                                   label=_("n train"), container=c[1]),
            "noise": param_input("noise", study="polynomial", key="poly.noise", default=view["noise"], high=2.0, label=_("noise"),
                                 container=c[2]),
            "epochs": param_input("epochs", study="polynomial", key="poly.epochs", default=view["epochs"], low=10, high=2000,
                                  label=_("epochs"), container=c[3]),
        }
        poly = run("polynomial", values, label=_("polynomial regression"))
        # train the other degrees in the background, nearest first, so the slider answers from the cache
        prefetch("polynomial", [{**values, "degree": d} for d in sorted(range(21), key=lambda d: abs(d - values["degree"]))])
        if poly and not warn_if_diverged(poly):
            r = poly[0]
            m = r.metrics
            left, right = st.columns(2)
            left.altair_chart(polynomial_fit(r.frames["points"], r.frames["curve"],
                                             title=_("Degree {d} on {n} training points").format(d=r.config["degree"], n=r.config["n_train"])))
            right.altair_chart(training_curves(r.history, log_y=True, mark_y=m["closed_form_train_loss"],
                                               mark_y_label=_("least-squares train MSE"),
                                               title=_("Gradient descent: MSE by epoch (log scale)")))
            right.caption(_("The red dotted line is the least-squares train MSE ({value}): the lowest any polynomial of this "
                            "degree reaches on these points, so gradient descent can approach it but never go below.").format(
                value=L.num(m["closed_form_train_loss"])))
            st.markdown(L.fit_verdict(m["closed_form_train_loss"], m["closed_form_test_loss"], r.config["noise"]))
            k = st.columns(4)
            k[0].metric(_("least squares: train MSE"), L.num(m["closed_form_train_loss"]))
            k[1].metric(_("least squares: test MSE"), L.num(m["closed_form_test_loss"]))
            k[2].metric(_("gradient descent: train MSE"), L.num(m["train_loss"]))
            k[3].metric(_("gradient descent: test MSE"), L.num(m["test_loss"]))
            st.altair_chart(coefficient_bars(r.frames["coefficients"], symlog=True,
                                             title=_("Coefficients: true, gradient descent and least squares")))
            st.caption(L.coefficient_note(r.frames["coefficients"]))


# --- your own data --------------------------------------------------------------------------------
# (issue 8: an upload section only, at the end; the training and the checks are the polynomial study's, in core)
with st.expander(_("Your own data: a polynomial fit of a CSV"), icon=":material/upload_file:"):
    st.markdown(_("Upload a table, choose its x and y columns, and fit a polynomial of the degree you pick. x and y are "
                  "standardised with the training rows' mean and standard deviation; the chart shows them in the table's "
                  "units. The stored run records the file's name, row count and content hash, not the data."))
    own = table_values("reg.csv", "regression")
    if own is not None:
        c = st.columns(3)
        own["degree"] = param_input("degree", study="polynomial", key="reg.csv.degree", container=c[0])
        own["epochs"] = param_input("epochs", study="polynomial", key="reg.csv.epochs", high=2000, container=c[1])
        own["test_fraction"] = param_input("test_fraction", study="polynomial", key="reg.csv.test_fraction", high=0.5,
                                           label=_("test fraction"), container=c[2])
        fitted = run("polynomial", own, label=_("your table's fit"))
        if fitted and not warn_if_diverged(fitted):
            r = fitted[0]
            left, right = st.columns(2)
            left.altair_chart(fit_plot(r.frames["points"], r.frames["curve"], color_field="curve",
                                       title=_("Degree {degree} fit of {name}").format(degree=r.config["degree"], name=own["data_path"])))
            right.altair_chart(training_curves(r.history, log_y=True, title=_("Train and test MSE by epoch (standardised y)")))
            k1, k2 = st.columns(2)
            k1.metric(_("train MSE (standardised)"), f"{r.metrics['train_loss']:.4f}")
            k2.metric(_("test MSE (standardised)"), f"{r.metrics['test_loss']:.4f}")
