"""Regression: linear regression from scratch, with nn.Linear and in closed form; multivariate; polynomial."""

from __future__ import annotations

import inspect

import streamlit as st

from core.charts.curves import training_curves
from core.charts.regression import coefficient_bars, fit_plot, weights_compare
from core.i18n import _
from core.models import ManualSGD, ScratchLinearRegression
from core.selection import stacked_history
from ui.boot import require_router
from ui.runner import prefetch, run, run_each, warn_if_diverged
from ui.upload import table_values
from ui.widgets import param_input

require_router()

st.title("Regression")
st.markdown(
    "Linear regression is the smallest network: one linear layer and a squared loss. "
    "Here it is trained three ways on the same data — **from scratch** (weights from `randn`, bias from `zeros`, "
    "`requires_grad=True`, and the hand-written step `w -= lr * w.grad`), with **`nn.Linear`** and a torch optimizer, "
    "and in **closed form** from the normal equations."
)

# Each part is a tab, bound to the URL; only the open tab trains and draws, so sliders answer fast.
uni_tab, multi_tab, poly_tab = st.tabs(['One input', 'Several inputs', 'Polynomial'], key="regression.tab", bind="query-params")

# --- 1. univariate --------------------------------------------------------------------------------
if uni_tab.open:
    with uni_tab:
        st.header("1 · One input: y = 2·x + 4.2 + noise")
        c = st.columns(5)
        values = {
            "n_train": param_input("n_train", study="linear-regression", key="uni.n_train", low=10, high=1000, container=c[0]),
            "noise": param_input("noise", study="linear-regression", key="uni.noise", high=3.0, container=c[1]),
            "epochs": param_input("epochs", study="linear-regression", key="uni.epochs", high=100, container=c[2]),
            "lr": param_input("lr", study="linear-regression", key="uni.lr", low=1e-4, high=1.0, container=c[3]),
            "batch_size": param_input("batch_size", study="linear-regression", key="uni.batch_size", high=1000, container=c[4]),
        }
        clear = st.toggle(
            "Clear the gradient before every step", value=True, key="uni.clear_grad", bind="query-params",
            help="PyTorch *adds* each backward() into .grad. Without zeroing it, every step uses the sum of all past gradients.",
        )
        pair = run_each("linear-regression", [({**values, "model": "scratch", "clear_grad": clear}, "the from-scratch model"),
                                              ({**values, "model": "linear", "clear_grad": clear}, "the nn.Linear model")])
        if pair:
            s, l = pair
            warn_if_diverged([s], "the from-scratch model")
            left, right = st.columns(2)
            with left:
                if s.status == "ok":
                    st.altair_chart(fit_plot(s.frames["points"], s.frames["fit"], title="Data, true line, trained and closed-form fits"))
            with right:
                both = stacked_history([s, l], "model", ["scratch", "nn.Linear"])
                st.altair_chart(training_curves(both, run="model", log_y=True, title="MSE by epoch (log scale)"))
            m1, m2, m3 = st.columns(3)
            m1.metric("from scratch: w, b", f"{s.metrics.get('w', float('nan')):.3f}, {s.metrics.get('b', float('nan')):.3f}" if s.status == "ok" else "diverged")
            m2.metric("nn.Linear: w, b", f"{l.metrics.get('w', float('nan')):.3f}, {l.metrics.get('b', float('nan')):.3f}" if l.status == "ok" else "diverged")
            if s.status == "ok":
                m3.metric("closed form: w, b", f"{s.metrics['closed_form_w']:.3f}, {s.metrics['closed_form_b']:.3f}")
            if not clear:
                st.info(
                    "Gradients are **not** cleared: each step applies the sum of every gradient so far, so the steps keep "
                    "growing and the loss oscillates or explodes. That is why a training loop calls `optimizer.zero_grad()` "
                    "(or `w.grad.zero_()`) before each `backward()`."
                )
            with st.expander("The from-scratch code (the source that just ran)"):
                st.markdown(
                    "The model and its step, from `core/models.py`. The one training loop (`core.training.fit`) calls, "
                    "for each mini-batch: `zero_grad()` (skipped when the toggle is off), the loss, its backward pass, then "
                    "`step()`."
                )
                st.code(inspect.getsource(ScratchLinearRegression) + "\n\n" + inspect.getsource(ManualSGD), language="python")


# --- 2. multivariate ------------------------------------------------------------------------------
if multi_tab.open:
    with multi_tab:
        st.header("2 · Several inputs: y = X·w + b + noise")
        c = st.columns(3)
        mv = run(
            "multivariate-regression",
            {
                "n_features": param_input("n_features", study="multivariate-regression", key="multi.n_features", high=20, container=c[0]),
                "noise": param_input("noise", study="multivariate-regression", key="multi.noise", high=2.0, container=c[1]),
                "n_train": param_input("n_train", study="multivariate-regression", key="multi.n_train", low=10, high=2000, container=c[2]),
            },
            label="multivariate regression",
        )
        if mv and not warn_if_diverged(mv):
            r = mv[0]
            st.altair_chart(weights_compare(r.frames["weights"], title="Learned, closed-form and true weights"))
            st.caption(f"‖w − w_true‖ = {r.metrics['weight_error']:.4f}; test MSE = {r.metrics['test_loss']:.4f}")


# --- 3. polynomial --------------------------------------------------------------------------------
if poly_tab.open:
    with poly_tab:
        st.header("3 · Polynomial regression")
        st.markdown(
            "Data from y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + noise, with features x⁰…x^degree (divided by i! so high powers "
            "stay small). **Degree 3** matches the truth; **1** cannot bend enough (underfitting: both losses high); "
            "**20** with few examples bends to the noise (overfitting: train loss low, test loss high)."
        )
        c = st.columns(3)
        values = {
            "degree": param_input("degree", study="polynomial", key="poly.degree", container=c[0]),
            "n_train": param_input("n_train", study="polynomial", key="poly.n_train", low=5, high=1000, container=c[1]),
            "noise": param_input("noise", study="polynomial", key="poly.noise", high=2.0, container=c[2]),
        }
        poly = run("polynomial", values, label="polynomial regression")
        # train the other degrees in the background, nearest first, so the slider answers from the cache
        prefetch("polynomial", [{**values, "degree": d} for d in sorted(range(21), key=lambda d: abs(d - values["degree"]))])
        if poly and not warn_if_diverged(poly):
            r = poly[0]
            left, right = st.columns(2)
            left.altair_chart(fit_plot(r.frames["points"], r.frames["curve"], x_domain=(-3, 3), color_field="curve",
                                       title=f"Degree {r.config['degree']} fit"))
            right.altair_chart(training_curves(r.history, log_y=True, title="Train and test MSE by epoch (log scale)"))
            st.altair_chart(coefficient_bars(r.frames["coefficients"], title="Learned against true coefficients"))
            k1, k2 = st.columns(2)
            k1.metric("train MSE", f"{r.metrics['train_loss']:.4f}")
            k2.metric("test MSE", f"{r.metrics['test_loss']:.4f}", delta=f"{r.metrics['test_loss'] - r.metrics['train_loss']:+.4f} gap", delta_color="inverse")


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
