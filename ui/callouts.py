""""The guide says / measured here": a claim of the study guide beside what this page measures.

The study guide the project follows (notes in Chinese) states some things loosely or wrongly; a student holding it
beside the page should not have to reconcile them alone. Each callout names the idea (with the guide's Chinese term),
states the guide's claim in our words, and what the page measures — with the page's own number where one exists.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.i18n import _, language


def guide_callout(term: str, term_zh: str, guide: str, measured: str, container: Any = None) -> None:
    """A bordered box: the guide's claim about `term` (中文 `term_zh`) and what this page measured.

    In Chinese the term is the guide's own (`term_zh`), so the box quotes the guide in its words."""
    where = container or st
    box = where.container(border=True)
    named = term_zh if language() == "zh" else f"{term} ({term_zh})"
    box.markdown(f":material/menu_book: **{_('The guide says')}** — {named}: {guide}")
    box.markdown(f":material/science: **{_('Measured here')}**: {measured}")
