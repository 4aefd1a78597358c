"""Reproductions: canonical published results beside the lab's own figure on the same setup, and whether they hold."""

from __future__ import annotations

import streamlit as st

from core.data import DataUnavailable
from core.i18n import _, error_text
from core.reproductions import REPRODUCTIONS, holds_text, latest, reproduce, table
from core.tables import csv_text, to_markdown
from ui.boot import require_router
from ui.runner import get_store
from ui.share import link_to
from ui.widgets import segmented

require_router()

st.title(_("Reproductions"))
st.markdown(_(
    "Results every student meets in a textbook or a landmark paper, re-run here on the closest setup the lab has: the "
    "source, its setup and its published figure (kept in the code with the source, nothing is fetched), the lab's own "
    "figure, and whether the published claim holds — judged by the same check the command line "
    "(`python -m core reproduce`) and the tests use. Every re-run is stored as a sweep: its runs open on the Runs page."
))

store = get_store()
c = st.columns([2, 3])
size = segmented(c[0], _("settings"), ["small", "full"], "small", key="repro.size",
                 help=_("small: seconds to a minute per row, what CI checks on every commit; full: the closest setup "
                        "the lab has (MNIST rows take minutes)."))


def rerun(reps) -> None:
    """Re-run these reproductions at the chosen size, with a progress bar; a missing data set is reported, not raised."""
    bar = st.progress(0.0, text=_("starting"))
    for i, rep in enumerate(reps):
        def progress(fraction: float, text: str, i=i, rep=rep) -> None:
            bar.progress(min(1.0, (i + fraction) / len(reps)), text=f"{rep.id}: {error_text(text)}")

        try:
            outcome = reproduce(rep, size, store, progress=progress)
        except (DataUnavailable, ValueError) as exc:
            st.error(_("{id} could not run: {problem}").format(id=rep.id, problem=error_text(exc)))
            continue
        if outcome.skipped:
            st.warning(_("{id} skipped: {why}").format(id=rep.id, why=outcome.skipped))
    bar.empty()


if c[1].button(_("Re-run every reproduction ({size} settings)").format(size=size), icon=":material/replay:",
               key="repro.all", type="primary"):
    rerun(list(REPRODUCTIONS.values()))

outcomes = [latest(store, rep) for rep in REPRODUCTIONS.values()]
frame = table(outcomes)
# what a reader compares first: the verdict, then the two figures; the long source titles last
st.dataframe(frame[["reproduction", "holds", "published", "lab", "settings", "runs", "source"]], hide_index=True,
             column_config={"published": st.column_config.TextColumn(_("published figure"), width="large"),
                            "lab": st.column_config.TextColumn(_("lab's figure"), width="large"),
                            "source": st.column_config.TextColumn(_("source"), width="medium")})
ran = sum(o.verdict is not None and o.verdict.holds is not None for o in outcomes)
holding = sum(o.verdict is not None and bool(o.verdict.holds) for o in outcomes)
st.caption(_("{ran} of {n} reproductions have a stored re-run; {holds} of them hold. Each row below has its setup, "
             "the lab's setup and a button to re-run it.").format(ran=ran, n=len(outcomes), holds=holding))
d = st.columns(2)
d[0].download_button(_("table (CSV)"), csv_text(frame), file_name="overfit-lab-reproductions.csv", mime="text/csv",
                     icon=":material/download:", key="repro.download.csv", on_click="ignore")
d[1].download_button(_("table (Markdown)"), to_markdown(frame), file_name="overfit-lab-reproductions.md",
                     mime="text/markdown", icon=":material/download:", key="repro.download.markdown", on_click="ignore")

for outcome in outcomes:
    rep = outcome.rep
    answer = holds_text(outcome)
    icon = {_("yes"): ":material/check_circle:", _("no"): ":material/cancel:"}.get(answer, ":material/help:")
    with st.expander(f"{rep.id} — {_(rep.source)}", icon=icon):
        st.markdown(_("**Setup.** {text}").format(text=_(rep.setup)))
        st.markdown(_("**Published.** {text}").format(text=_(rep.published)))
        st.markdown(_("**In the lab.** {text}").format(text=_(rep.lab_setup)))
        if rep.different_setup:
            st.info(_("A different setup: this row compares the nearest experiment the lab can run, not the published one."),
                    icon=":material/compare_arrows:")
        if outcome.verdict is not None:
            st.markdown(_("**Measured ({size} settings).** {lab} — holds: **{answer}**").format(
                size=outcome.size or "?", lab=outcome.verdict.lab, answer=answer))
            link_to("pages/runs.py", _("its {n} runs on the Runs page").format(n=outcome.runs), icon=":material/table_view:",
                    query_params={"runs.sweep": outcome.sweep_id})
        else:
            st.caption(_("Not run yet."))
        if st.button(_("Re-run ({size} settings)").format(size=size), key=f"repro.run.{rep.id}", icon=":material/replay:"):
            rerun([rep])
            st.rerun()
