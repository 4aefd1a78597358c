"""Capacity: under- and overfitting with polynomial degree, width against depth at a matched budget, universal approximation."""

from __future__ import annotations

import streamlit as st

from core import lessons as L
from core.charts.capacity import curves_overlay
from core.charts.curves import metric_vs
from core.charts.regression import polynomial_fit, y_window
from core.i18n import N_, _
from core.selection import stacked_frames
from core.sweeps import sweep_frame
from ui.boot import require_router
from ui.callouts import guide_callout
from ui.runner import run_each, warn_if_diverged
from ui.widgets import param_input, url_tabs

require_router()

st.title(_("Capacity"))
st.markdown(_(
    "A model's **capacity** is how many different functions it can fit. Too little and it **underfits**: it misses "
    "the pattern, so training and test errors are both high. Too much for the data at hand and it **overfits**: it "
    "fits the noise of the few training examples, so the training error is low and the test error high."
))

fit_tab, wd_tab, ua_tab = url_tabs("capacity.tab", {"under-overfitting": N_("Under- and overfitting"),
                                                    "width-vs-depth": N_("Width vs depth"),
                                                    "universal-approximation": N_("Universal approximation")})

# --- 1. polynomial degree -------------------------------------------------------------------------
if fit_tab.open:
    with fit_tab:
        st.markdown(_(
            "The same noisy samples of the cubic y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3!, fitted with polynomials of three "
            "degrees. Each degree is fitted twice: in **closed form** (least squares, the best any polynomial of that "
            "degree can do on these points) and by **gradient descent** (Adam, lr 1, full batch, 100 epochs), which "
            "moves the tiny high-power features x^i/i! so slowly that it stays smooth. Few training points make "
            "overfitting visible: a degree-20 polynomial has 21 coefficients to bend through them."
        ))
        c = st.columns(5)
        low = param_input("degree", study="polynomial", key="fit.low", default=L.DEGREE_PANELS["low"], label=_("low degree"), container=c[0])
        right = param_input("degree", study="polynomial", key="fit.right", default=L.DEGREE_PANELS["right"], label=_("right degree"), container=c[1])
        high = param_input("degree", study="polynomial", key="fit.high", default=L.DEGREE_PANELS["high"], label=_("high degree"), container=c[2])
        n_train = param_input("n_train", study="polynomial", key="fit.n_train", default=L.DEGREE_DATA["n_train"], low=5, high=200,
                              label=_("n train"), container=c[3])
        noise = param_input("noise", study="polynomial", key="fit.noise", default=L.DEGREE_DATA["noise"], high=2.0, label=_("noise"),
                            container=c[4])
        degrees = sorted(set(L.SWEEP_DEGREES) | {low, right, high})
        results = run_each("polynomial", [(L.degree_config(d, n_train, noise), _("polynomial of degree {d}").format(d=d))
                                          for d in degrees])
        if results is not None:
            warn_if_diverged(results, _("a gradient-descent fit"))
            by_degree = dict(zip(degrees, results))
            chosen = [(_("low"), low), (_("right"), right), (_("high"), high)]
            runs = [by_degree[d] for _name, d in chosen]
            # one y range for the three panels (the data and the truth), so they compare
            window = y_window(stacked_frames(runs, "points", "panel"), runs[0].frames.get("curve"))
            for col, (name, d), r in zip(st.columns(3), chosen, runs):
                with col:
                    if "points" in r.frames:
                        st.altair_chart(polynomial_fit(r.frames["points"], r.frames["curve"], y_domain=window,
                                                       title=_("{name}: degree {d}").format(name=name, d=d)))
                    m = r.metrics
                    if r.status != "ok":  # no report for a diverged run: nothing to judge
                        st.metric(_("{name}: test MSE (least squares)").format(name=name), _("diverged"))
                        continue
                    st.metric(_("{name}: test MSE (least squares)").format(name=name), L.num(m["closed_form_test_loss"]),
                              delta=_("train MSE {value}").format(value=L.num(m["closed_form_train_loss"])), delta_color="off")
                    st.markdown(L.fit_verdict(m["closed_form_train_loss"], m["closed_form_test_loss"], noise))
                    st.caption(_("Gradient descent: train MSE {train}, test MSE {test}.").format(
                        train=L.num(m["train_loss"]), test=L.num(m["test_loss"])))
            frame = sweep_frame(results)
            names = {"closed_form_train_loss": _("train MSE, least squares"), "closed_form_test_loss": _("test MSE, least squares"),
                     "train_loss": _("train MSE, gradient descent"), "test_loss": _("test MSE, gradient descent")}
            st.altair_chart(metric_vs(frame, "degree", [k for k in names if k in frame], names=names, dashed=["train_loss", "test_loss"], log_y=True,
                                      best="closed_form_test_loss", integer_x=True, y_title=_("MSE (log scale)"), height=300,
                                      title=_("Train and test MSE against degree (log scale)")))
            trend = L.degree_trend(frame)
            st.caption((L.degree_caption(trend) + " " if trend else "") + _(
                "(The dashed vertical line marks the lowest least-squares test error — fine for a demonstration, but "
                "choosing a model this way spends the test set: see *Data strategies → Validation set*.)"))

# --- 2. width vs depth ----------------------------------------------------------------------------
if wd_tab.open:
    with wd_tab:
        st.markdown(_(
            "Networks of depth 1 to 4 with the **same number of parameters**: the hidden width is chosen at each depth "
            "so that the MLP has about `budget` parameters (wide and shallow against narrow and deep). Each fits 100 "
            "noisy samples of the target, trained with Adam on the full batch."
        ))
        c = st.columns(4)
        view = L.DEPTH_VIEW
        budget = param_input("budget", study="capacity", key="wd.budget", default=view["budget"], label=_("budget"),
                             options=[20, 30, 40, 60, 100, 150, 200, 300, 500, 1000], container=c[0])
        function = param_input("function", study="capacity", key="wd.function", default=view["function"], label=_("function"), container=c[1])
        activation = param_input("activation", study="capacity", key="wd.activation", default=view["activation"],
                                 label=_("activation"), container=c[2])
        epochs = param_input("epochs", study="capacity", key="wd.epochs", default=view["epochs"], low=50, high=2000,
                             label=_("epochs"), container=c[3])
        results = run_each("capacity", [(L.depth_config(d, budget, function, activation, epochs), _("network of depth {d}").format(d=d))
                                        for d in L.DEPTHS])
        if results is not None and not warn_if_diverged(results, _("a network")):
            labels = [_("depth {depth} × width {width} ({params} parameters)").format(
                depth=r.config["depth"], width=r.metrics["hidden_used"], params=r.metrics["n_params"]) for r in results]
            left, right = st.columns(2)
            curves = stacked_frames(results, "curve", "model", labels)
            left.altair_chart(curves_overlay(curves, results[0].frames["points"], by="model", order=labels, legend_title=_("network"),
                                             title=_("{function} fitted at a budget of ~{budget} parameters").format(
                                                 function=function, budget=budget)))
            frame = sweep_frame(results)
            right.altair_chart(metric_vs(frame, "depth", ["train_loss", "test_loss"], log_y=True, integer_x=True, legend_below=True,
                                         names={"train_loss": _("train MSE"), "test_loss": _("test MSE")}, dashed=["train_loss"],
                                         y_title=_("MSE (log scale)"),
                                         title=_("Train and test MSE against depth (log scale)")))
            table = frame[["depth", "hidden_used", "n_params", "train_loss", "test_loss"]].rename(columns={
                "depth": _("depth"), "hidden_used": _("width"), "n_params": _("parameters"), "train_loss": _("train MSE"),
                "test_loss": _("test MSE")})
            st.dataframe(table, hide_index=True)
            verdict = L.depth_caption(L.depth_verdict(frame), budget)
            guide_callout(_("depth"), "深度", _("deeper networks are better."), verdict)
            st.caption(_(
                "Why it can go either way: depth lets ReLU networks compose pieces, so a deep network can make more linear "
                "pieces from the same parameters; but at a fixed budget every layer gets narrower, and very narrow layers "
                "are hard to train (units die or saturate). Which effect wins depends on the budget, the target and the "
                "training — change the budget or the epochs and watch the verdict above."
            ))

# --- 3. universal approximation -------------------------------------------------------------------
if ua_tab.open:
    with ua_tab:
        st.markdown(_(
            "**Universal approximation:** one hidden layer with enough units can approximate any continuous function on "
            "an interval as closely as you like. With ReLU, N units give a curve of at most N + 1 straight pieces; with "
            "tanh, a sum of N smooth steps. Each network fits 100 samples of the target, trained with Adam on the full batch."
        ))
        c = st.columns(4)
        view = L.WIDTH_VIEW
        function = param_input("function", study="capacity", key="ua.function", default=view["function"], label=_("function"), container=c[0])
        activation = param_input("activation", study="capacity", key="ua.activation", default=view["activation"],
                                 label=_("activation"), container=c[1])
        widest = param_input("hidden", study="capacity", key="ua.hidden", label=_("largest N"), default=view["hidden"],
                             options=list(L.WIDTHS[2:]), container=c[2])
        noise = param_input("noise", study="capacity", key="ua.noise", default=view["noise"], high=0.5, label=_("noise"), container=c[3])
        widths = [n for n in L.WIDTHS if n <= widest]
        results = run_each("capacity", [(L.width_config(n, function, activation, noise), _("one hidden layer with N = {n}").format(n=n))
                                        for n in widths])
        if results is not None and not warn_if_diverged(results, _("a network")):
            labels = [f"N = {n}" for n in widths]
            left, right = st.columns(2)
            curves = stacked_frames(results, "curve", "model", labels)
            left.altair_chart(curves_overlay(curves, results[0].frames["points"], by="model", order=labels, legend_title=_("hidden units"),
                                             title=_("{function} fitted by one hidden layer of N {activation} units").format(
                                                 function=function, activation=activation)))
            frame = sweep_frame(results)
            right.altair_chart(metric_vs(frame, "hidden", ["train_loss", "test_loss"], log_x=True, log_y=True, legend_below=True,
                                         names={"train_loss": _("train MSE"), "test_loss": _("test MSE")}, dashed=["train_loss"],
                                         y_title=_("MSE (log scale)"),
                                         title=_("Train and test MSE against N (log scales)")))
            st.caption(L.approximation_caption(frame) + " " + _(
                "The theorem promises that a good approximation exists, not that gradient descent finds it: extra units "
                "help less once the fit is limited by training (epochs, learning rate) or by the noise in the data."
            ))
            first, last = results[0].metrics["test_loss"], results[-1].metrics["test_loss"]
            measured = _("one hidden layer of {n} {activation} units fits {function} to test MSE {last} (N = {n0}: {first}).").format(
                n=widths[-1], activation=activation, function=function, last=L.num(last), n0=widths[0], first=L.num(first))
            if activation == "relu":
                measured = _("any activation that is not a polynomial will do (Leshno et al., 1993), ReLU included — it is "
                             "neither bounded nor S-shaped. Here {rest}").format(rest=measured)
            else:
                measured = _("any activation that is not a polynomial will do (Leshno et al., 1993). Here {rest} Choose "
                             "relu to see an activation that is not squashing do the same.").format(rest=measured)
            guide_callout(_("universal approximation"), "万能近似定理",
                          _("one hidden layer approximates any continuous function, provided the activation is a "
                            "squashing (bounded, S-shaped) function such as sigmoid."), measured)
