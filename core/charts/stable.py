"""A chart's Vega-Lite spec apart from its data, so that redrawing with new numbers changes only the data.

Altair names each data set after a hash of its contents, so the spec of a chart changes whenever its numbers
do, and a browser given a changed spec rebuilds the chart from scratch. `split_spec(chart)` names the data
sets by their place in the chart instead (`frame_0`, `frame_1`, … in the order the chart uses them; one name
per DataFrame object, however many layers share it) and returns the spec without them plus the frames by
name. Two charts built by the same function from different numbers then have equal specs (as long as the
function puts no number from the data into the spec), and a page can send only the new frames.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
from altair.utils import parse_shorthand

_PARTS = ("layer", "hconcat", "vconcat", "concat")
_TYPE_CODES = {"quantitative": "Q", "nominal": "N", "ordinal": "O", "temporal": "T"}


def split_spec(chart: alt.TopLevelMixin) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """(the Vega-Lite dict with each data set referenced by a stable name, {name: DataFrame}).

    Encodings written without a type (`"epoch"`) get the type Altair would infer from the data, since the
    detached spec has no data to infer it from. ValueError if the chart cannot be split (the caller then draws
    it whole).
    """
    frames: dict[str, pd.DataFrame] = {}
    names: dict[int, str] = {}
    spec = _detach(chart, frames, names, None).to_dict()
    view = spec.get("config", {}).get("view", {})
    # Altair's default theme adds a 300×300 default view size; Streamlit drops it too (it sizes charts itself)
    for key in ("continuousWidth", "continuousHeight"):
        view.pop(key, None)
    if "config" in spec and not spec["config"].get("view", True):
        spec["config"].pop("view")
    if "config" in spec and not spec["config"]:
        spec.pop("config")
    return spec, frames


def chart_frames(chart: alt.TopLevelMixin) -> dict[str, pd.DataFrame]:
    """The frames `split_spec` would give for this chart, by the same names, without building its spec (cheap:
    a redraw of a chart whose spec is known needs only these)."""
    frames: dict[str, pd.DataFrame] = {}
    names: dict[int, str] = {}

    def walk(obj: Any) -> None:
        if not isinstance(obj, alt.SchemaBase):
            return
        data = obj._kwds.get("data", alt.Undefined)
        if isinstance(data, pd.DataFrame) and id(data) not in names:
            names[id(data)] = f"frame_{len(names)}"
            frames[names[id(data)]] = data
        for part in _PARTS:
            children = obj._kwds.get(part, alt.Undefined)
            if isinstance(children, list):
                for child in children:
                    walk(child)
        walk(obj._kwds.get("spec", alt.Undefined))

    walk(chart)
    return frames


def _detach(obj: Any, frames: dict[str, pd.DataFrame], names: dict[int, str], inherited: pd.DataFrame | None) -> Any:
    """A shallow copy of a chart (and of its parts) whose DataFrames are replaced by named references and whose
    untyped encodings are typed from the data they read (their own, or their parent's)."""
    if not isinstance(obj, alt.SchemaBase):
        return obj
    obj = obj.copy(deep=False)
    data = obj._kwds.get("data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        if id(data) not in names:
            # not data_N or source_N: Vega-Lite gives its own data sources those names, and a clash draws nothing
            names[id(data)] = f"frame_{len(names)}"
            frames[names[id(data)]] = data
        obj._kwds["data"] = alt.NamedData(name=names[id(data)])
        inherited = data
    elif data is not alt.Undefined:
        inherited = None  # data given some other way: nothing to infer types from
    for channels in ("encoding", "facet"):
        if isinstance(obj._kwds.get(channels, alt.Undefined), alt.SchemaBase):
            obj._kwds[channels] = _typed(obj._kwds[channels], inherited)
    for part in _PARTS:
        children = obj._kwds.get(part, alt.Undefined)
        if isinstance(children, list):
            obj._kwds[part] = [_detach(c, frames, names, inherited) for c in children]
    if isinstance(obj._kwds.get("spec", alt.Undefined), alt.SchemaBase):
        obj._kwds["spec"] = _detach(obj._kwds["spec"], frames, names, inherited)
    return obj


def _typed(value: Any, data: pd.DataFrame | None) -> Any:
    """An encoding (or a channel, or a list of them) with a type added to every shorthand that lacks one."""
    if isinstance(value, str):
        if ":" in value or data is None:
            return value
        code = _TYPE_CODES.get(parse_shorthand(value, data).get("type", ""))
        return f"{value}:{code}" if code else value
    if isinstance(value, list):
        return [_typed(v, data) for v in value]
    if isinstance(value, alt.SchemaBase):
        value = value.copy(deep=False)
        kwds = value._kwds
        if isinstance(kwds.get("shorthand", alt.Undefined), str) and kwds.get("type", alt.Undefined) is alt.Undefined:
            kwds["shorthand"] = _typed(kwds["shorthand"], data)
        for key, v in kwds.items():
            if key != "shorthand" and isinstance(v, (alt.SchemaBase, list)) and not isinstance(v, alt.Scale):
                kwds[key] = _typed(v, data)
    return value


class FixedSpec:
    """A chart's spec made once, redrawn with new numbers by sending only the new frames.

    `FixedSpec(build, *frames)` builds the chart once (`build(*frames)`) and splits it (`split_spec`); the chart must use
    the frames it is given as they are (not copies), so each named data set is known to be input i. `spec_with(*frames)`
    is then the spec of `build(*frames)` without building it: the same spec dict, with the new frames as its datasets.
    Building an Altair chart and turning it into a spec costs tens of milliseconds; this costs nothing, so a view can
    redraw several charts many times a second. ValueError if the builder copies or derives a frame.
    """

    def __init__(self, build: Any, *frames: pd.DataFrame):
        self.spec, named = split_spec(build(*frames))
        self.slots: dict[str, int] = {}
        for name, frame in named.items():
            index = next((i for i, given in enumerate(frames) if given is frame), None)
            if index is None:
                raise ValueError("FixedSpec: the chart draws a frame it made itself; give the builder that frame instead")
            self.slots[name] = index

    def datasets(self, *frames: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The chart's data sets for these frames, by the names its spec uses."""
        return {name: frames[i] for name, i in self.slots.items()}

    def spec_with(self, *frames: pd.DataFrame) -> dict[str, Any]:
        """The chart's Vega-Lite spec with these frames as its data (a new top-level dict; the parts are shared)."""
        return {**self.spec, "datasets": self.datasets(*frames)}
