"""Capacity: under- and overfitting with polynomial degree, width against depth at a matched budget, universal approximation."""

from __future__ import annotations

import streamlit as st

from core.charts.capacity import curves_overlay, fit_panels
from core.charts.curves import metric_vs
from core.selection import pick_best, stacked_frames
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.runner import run_each, warn_if_diverged
from ui.widgets import param_input

require_router()

# Degrees every sweep visits (the three chosen ones are added); enough to see the U shape, few enough to stay fast.
SWEEP_DEGREES = (0, 1, 2, 3, 4, 6, 8, 12, 20)
DEPTHS = (1, 2, 3, 4)
WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


st.title("Capacity")
st.markdown(
    "A model's **capacity** is how many different functions it can fit. Too little and it **underfits**: it misses "
    "the pattern, so training and test errors are both high. Too much for the data at hand and it **overfits**: it "
    "fits the noise of the few training examples, so the training error is low and the test error high."
)

fit_tab, wd_tab, ua_tab = st.tabs(["Under- and overfitting", "Width vs depth", "Universal approximation"],
                                  key="capacity.tab", bind="query-params")

# --- 1. polynomial degree -------------------------------------------------------------------------
if fit_tab.open:
    with fit_tab:
        st.markdown(
            "The same noisy samples of the cubic y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3!, fitted with polynomials of three "
            "degrees. Few training examples make overfitting visible: a degree-20 polynomial has 21 coefficients to "
            "bend through 10 points. Each fit is trained with Adam (lr 1) on the full batch for 100 epochs."
        )
        c = st.columns(5)
        low = param_input("degree", study="polynomial", key="fit.low", default=1, label="low degree", container=c[0])
        right = param_input("degree", study="polynomial", key="fit.right", default=3, label="right degree", container=c[1])
        high = param_input("degree", study="polynomial", key="fit.high", default=20, label="high degree", container=c[2])
        n_train = param_input("n_train", study="polynomial", key="fit.n_train", default=10, low=5, high=200, container=c[3])
        noise = param_input("noise", study="polynomial", key="fit.noise", default=0.3, high=2.0, container=c[4])
        base = {"n_train": n_train, "noise": noise, "batch_size": n_train, "epochs": 100, "optimizer": "adam", "lr": 1.0}
        degrees = sorted(set(SWEEP_DEGREES) | {low, right, high})
        results = run_each("polynomial", [({**base, "degree": d}, f"polynomial of degree {d}") for d in degrees])
        if results is not None:
            warn_if_diverged(results, "a fit")
            by_degree = dict(zip(degrees, results))
            chosen = [(f"{name}: degree {d}", by_degree[d]) for name, d in (("low", low), ("right", right), ("high", high))]
            shown = [r for _, r in chosen]
            labels = [name for name, _ in chosen]
            points = stacked_frames(shown, "points", "panel", labels)
            curves = stacked_frames(shown, "curve", "panel", labels)
            if len(points):
                st.altair_chart(fit_panels(points, curves, order=labels, x_domain=(-3, 3),
                                           title="Low, right and high degree on the same data"))
            m = st.columns(3)
            for col, (name, r) in zip(m, chosen):
                col.metric(f"{name} — test MSE", f"{r.metrics['test_loss']:.3g}",
                           delta=f"train MSE {r.metrics['train_loss']:.3g}", delta_color="off")
            frame = sweep_frame(results)
            st.altair_chart(metric_vs(frame, "degree", ["train_loss", "test_loss"], log_y=True, best="test_loss",
                                      title="Train and test MSE against degree (log scale)"))
            best = pick_best(frame, "test_loss")
            st.caption(
                f"The training error keeps falling as the degree grows; the test error is lowest at degree "
                f"{int(best['degree'])} and rises again past it. (The dashed line marks the lowest test error — fine for "
                "a demonstration, but choosing a model this way spends the test set: see *Data strategies → Validation set*.)"
            )

# --- 2. width vs depth ----------------------------------------------------------------------------
if wd_tab.open:
    with wd_tab:
        st.markdown(
            "Networks of depth 1 to 4 with the **same number of parameters**: the hidden width is chosen at each depth "
            "so that the MLP has about `budget` parameters (wide and shallow against narrow and deep). Each fits 100 "
            "noisy samples of the target, trained with Adam on the full batch."
        )
        c = st.columns(4)
        budget = param_input("budget", study="capacity", key="wd.budget", default=60,
                             options=[20, 30, 40, 60, 100, 150, 200, 300, 500, 1000], container=c[0])
        function = param_input("function", study="capacity", key="wd.function", default="sin", container=c[1])
        activation = param_input("activation", study="capacity", key="wd.activation", default="relu", container=c[2])
        epochs = param_input("epochs", study="capacity", key="wd.epochs", default=200, low=50, high=2000, container=c[3])
        base = {"budget": budget, "function": function, "activation": activation, "epochs": epochs,
                "n_train": 100, "batch_size": 100, "lr": 0.05, "noise": 0.05}
        results = run_each("capacity", [({**base, "depth": d}, f"network of depth {d}") for d in DEPTHS])
        if results is not None and not warn_if_diverged(results, "a network"):
            labels = [f"depth {r.config['depth']} × width {r.metrics['hidden_used']} ({r.metrics['n_params']} params)" for r in results]
            left, right = st.columns(2)
            curves = stacked_frames(results, "curve", "model", labels)
            left.altair_chart(curves_overlay(curves, results[0].frames["points"], by="model", order=labels,
                                             title=f"{function} fitted at a budget of ~{budget} parameters"))
            frame = sweep_frame(results)
            right.altair_chart(metric_vs(frame, "depth", ["train_loss", "test_loss"], log_y=True,
                                         title="Train and test MSE against depth (log scale)"))
            st.dataframe(frame[["depth", "hidden_used", "n_params", "train_loss", "test_loss"]], hide_index=True)
            st.caption(
                "Depth lets ReLU networks compose pieces, so a deep network can make more linear pieces from the same "
                "parameters — but very narrow layers are hard to train (units die or saturate), so on a small budget "
                "the wide, shallow network is often the safer choice. Raise the budget or the epochs to see the gap change."
            )

# --- 3. universal approximation -------------------------------------------------------------------
if ua_tab.open:
    with ua_tab:
        st.markdown(
            "**Universal approximation:** one hidden layer with enough units can approximate any continuous function on "
            "an interval as closely as you like. With ReLU, N units give a curve of at most N + 1 straight pieces; with "
            "tanh, a sum of N smooth steps. Each network fits 100 samples of the target, trained with Adam on the full batch."
        )
        c = st.columns(4)
        function = param_input("function", study="capacity", key="ua.function", default="sin", container=c[0])
        activation = param_input("activation", study="capacity", key="ua.activation", default="relu", container=c[1])
        widest = param_input("hidden", study="capacity", key="ua.hidden", label="largest N", default=32,
                             options=list(WIDTHS[2:]), container=c[2])
        noise = param_input("noise", study="capacity", key="ua.noise", default=0.0, high=0.5, container=c[3])
        base = {"function": function, "activation": activation, "noise": noise, "depth": 1,
                "n_train": 100, "batch_size": 100, "lr": 0.05, "epochs": 200}
        widths = [n for n in WIDTHS if n <= widest]
        results = run_each("capacity", [({**base, "hidden": n}, f"one hidden layer with N = {n}") for n in widths])
        if results is not None and not warn_if_diverged(results, "a network"):
            labels = [f"N = {n}" for n in widths]
            left, right = st.columns(2)
            curves = stacked_frames(results, "curve", "model", labels)
            left.altair_chart(curves_overlay(curves, results[0].frames["points"], by="model", order=labels,
                                             title=f"{function} fitted by one hidden layer of N {activation} units"))
            frame = sweep_frame(results)
            right.altair_chart(metric_vs(frame, "hidden", ["train_loss", "test_loss"], log_x=True, log_y=True,
                                         title="Train and test MSE against N (log scales)"))
            first, last = results[0], results[-1]
            st.caption(
                f"Test MSE falls from {first.metrics['test_loss']:.3g} with N = {widths[0]} to "
                f"{last.metrics['test_loss']:.3g} with N = {widths[-1]}. The theorem promises that a good approximation "
                "exists, not that gradient descent finds it: extra units help less once the fit is limited by training "
                "(epochs, learning rate) or by the noise in the data."
            )
