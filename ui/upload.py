"""A table of your own on a page: a CSV upload, its columns mapped with select boxes, checked in core before any use.

`table_values(key, task)` shows the uploader and, once a file passes `core.data.upload`'s checks, a select box per
column role (two features and a label for classification, x and y for regression). It returns the values that name the
data in a run's config (`dataset=csv`, `data_path` = the file's name, `x`, `y`, `data_hash`, `data_rows`), or None
after showing one line saying what is wrong (or nothing, before an upload). The file's bytes stay in this server's
memory under their hash (`core.data.upload.remember`); nothing is written anywhere and nothing is stored on failure.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.data.upload import MAX_BYTES, MAX_CLASSES, MAX_ROWS, UploadError, check_columns, remember
from core.i18n import _, error_text


def _numeric_first(table, count: int) -> list[str]:
    """Columns whose cells all read as numbers, in file order, then the others (the likely feature columns first)."""
    import pandas as pd

    numeric = [c for c in table.columns
               if pd.to_numeric(table.cells[c].head(200).str.strip(), errors="coerce").notna().all()]
    return (numeric + [c for c in table.columns if c not in numeric])[: max(count, 1)]


def table_values(key: str, task: str, container: Any = None) -> dict[str, Any] | None:
    """Upload and map a table (see the module doc); None until a usable table and columns are chosen."""
    where = container or st
    roles = (_("feature x₁"), _("feature x₂"), _("label")) if task == "classification" else (_("x"), _("y (target)"))
    upload = where.file_uploader(
        _("A CSV table with a header line (at most {mb} MB and {rows:,} rows)").format(mb=MAX_BYTES // 2**20, rows=MAX_ROWS),
        type=["csv", "txt"], key=f"{key}.file",
        help=_("Numeric feature columns; for classification a label column with 2 to {k} classes (numbers or text). Cells "
               "that look like spreadsheet formulas are refused.").format(k=MAX_CLASSES),
    )
    if upload is None:
        return None
    try:
        table = remember(upload.getvalue(), upload.name)
    except UploadError as exc:
        where.error(_("Not used, nothing stored: {problem}").format(problem=error_text(exc)), icon=":material/block:")
        return None
    guess = _numeric_first(table, len(roles))
    cols = where.columns(len(roles))
    chosen = []
    for i, (col, role) in enumerate(zip(cols, roles)):
        default = table.columns[-1] if i == len(roles) - 1 and task == "classification" else guess[min(i, len(guess) - 1)]
        chosen.append(col.selectbox(role, table.columns, index=table.columns.index(default), key=f"{key}.col{i}",
                                    bind="query-params"))
    x, y = ",".join(chosen[:-1]), chosen[-1]
    try:
        _features, _target, classes = check_columns(table, x, y, task)
    except UploadError as exc:
        where.error(_("Not used, nothing stored: {problem}").format(problem=error_text(exc)), icon=":material/block:")
        return None
    where.caption(_("{name}: {rows:,} rows, content hash {digest}{classes}. Features are standardised with the training "
                    "rows' mean and standard deviation; a run records the file's name, row count and hash, not the data.").format(
        name=table.name, rows=table.rows, digest=table.digest,
        classes=_("; classes {names}").format(names=", ".join(classes)) if classes else ""))
    return {"dataset": "csv", "data_path": table.name, "x": x, "y": y, "data_hash": table.digest, "data_rows": table.rows}
