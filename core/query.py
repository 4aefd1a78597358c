"""Which runs to read: a filter and a sort, as SQL over the store's value columns.

The pages and the CLI ask the store for the runs shown (one study's, the filtered rows, the visible columns, a
page at a time) instead of loading every run. Every parameter and metric of a stored run is also kept in a column
of its own in the runs table, its *value column* (`c_lr`, `m_test_loss`; `seed`, `fold` and `duration_s` had
theirs from the first version), so filters, sorts and group statistics are SQL over typed, indexed columns, never
JSON. A condition on a value holds only for runs that have one (`lr != 0.1` leaves out runs without an lr).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .metrics import METRICS
from .schema import MAX_INT, RUN_EXTRAS

RUN_TEXT_FIELDS = ("study", "status", "sweep_id", "created_at", "source")  # text columns every run has
FIXED = {"seed": "seed", "fold": "fold", "duration_s": "duration_s"}  # value columns of the first store version
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "notna")
MAX_IN = 500  # values in one `in` condition (SQLite binds at most 32766 variables per statement)


def _param_kinds() -> dict[str, type]:
    from .studies import STUDIES

    kinds: dict[str, type] = {}
    for study in STUDIES.values():
        for p in study.params:
            kinds.setdefault(p.name, p.kind)
    kinds.update({"folds": int, "fold": int})
    return kinds


PARAM_KINDS: dict[str, type] = _param_kinds()  # every parameter of any study, plus fold and folds
METRIC_KINDS: dict[str, type] = {m.name: m.kind for m in METRICS.values() if m.name not in PARAM_KINDS}
VALUE_KINDS: dict[str, type] = {**PARAM_KINDS, **METRIC_KINDS}
assert set(RUN_EXTRAS) <= set(PARAM_KINDS)


def value_column(name: str) -> str:
    """The runs-table column holding parameter or metric `name` (ValueError for any other name)."""
    if name in FIXED:
        return FIXED[name]
    if name in PARAM_KINDS:
        return "c_" + name
    if name in METRIC_KINDS:
        return "m_" + name
    raise ValueError(f"{name!r} is not a parameter or metric; known: {', '.join(VALUE_KINDS)}")


VALUE_COLUMNS: dict[str, str] = {name: value_column(name) for name in VALUE_KINDS}  # name → column


def column_sql(name: str, present: Iterable[str]) -> str:
    """The SQL for a run field, parameter or metric: its column, or NULL where this file has no such column."""
    if name == "id" or name in RUN_TEXT_FIELDS:
        return name
    column = value_column(name)
    return f'"{column}"' if column in present else "NULL"


@dataclass(frozen=True)
class Condition:
    """One condition on a parameter or metric: `name op value` (`in`: value is a sequence; `notna`: no value)."""

    name: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        if self.name not in VALUE_KINDS and self.name not in ("id", *RUN_TEXT_FIELDS):
            value_column(self.name)  # raises, naming what is known
        if self.op not in OPS:
            raise ValueError(f"condition on {self.name}: operator {self.op!r} is not allowed; expected one of {' '.join(OPS)}")
        if self.op == "in":
            values = tuple(self.value or ())
            if len(values) > MAX_IN:
                raise ValueError(f"condition on {self.name}: at most {MAX_IN} values, not {len(values)}")
            object.__setattr__(self, "value", values)


@dataclass(frozen=True)
class RunFilter:
    """Which runs: every condition given must hold (an empty tuple, or None for ids, means no condition)."""

    ids: tuple[int, ...] | None = None
    studies: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    sweeps: tuple[str, ...] = ()  # sweep ids
    sources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("studies", "statuses", "sweeps", "sources", "conditions"):
            object.__setattr__(self, name, tuple(getattr(self, name) or ()))
        if self.ids is not None:  # no run has an id SQLite cannot hold: such ids select nothing
            object.__setattr__(self, "ids", tuple(int(i) for i in self.ids if -MAX_INT <= int(i) <= MAX_INT))

    def where(self, present: Iterable[str]) -> tuple[str, list[Any]]:
        """A SQL WHERE clause ('' for every run) and its parameters; `present`: the value columns the file has."""
        present = set(present)
        clauses: list[str] = []
        params: list[Any] = []

        def one_of(column: str, values: Sequence[Any]) -> None:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)

        if self.ids is not None:
            one_of("id", self.ids)
        for column, values in (("study", self.studies), ("status", self.statuses), ("sweep_id", self.sweeps),
                               ("source", self.sources)):
            if values:
                one_of(column, values)
        for c in self.conditions:
            sql = column_sql(c.name, present)
            if c.op == "notna":
                clauses.append(f"{sql} IS NOT NULL")
            elif c.op == "in":
                clauses.append(f"{sql} IN ({','.join('?' * len(c.value))})" if c.value else "0")
                params.extend(c.value)
            else:
                clauses.append(f"{sql} {'=' if c.op == '==' else c.op} ?")
                params.append(c.value)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params

    def narrow(self, **changes: Any) -> "RunFilter":
        """This filter with some fields replaced."""
        from dataclasses import replace

        return replace(self, **changes)

    def also(self, *conditions: Condition) -> "RunFilter":
        """This filter with more conditions."""
        return self.narrow(conditions=self.conditions + tuple(conditions))


EVERY_RUN = RunFilter()


def order_sql(sort: str, descending: bool, present: Iterable[str]) -> str:
    """ORDER BY a run field, parameter or metric: runs without a value last either way, ties by id in the same direction."""
    direction = "DESC" if descending else "ASC"
    if sort == "id":
        return f"ORDER BY id {direction}"
    sql = column_sql(sort, present)
    return f"ORDER BY ({sql} IS NULL), {sql} {direction}, id {direction}"
