"""A sweep: a base run config and axes whose product gives the runs.

A sweep file (TOML) holds the base config and the axes::

    name = "bias-scale"                 # optional; default: the file's name without .toml
    zip = [["optimizer", "lr"]]         # optional: axes that move together instead of multiplying
    [base]                              # any RunConfig field (or base = "run.toml", a run config file)
    dataset = "digits"
    model = "mlp"
    epochs = 5
    [axes]
    init = ["pytorch-default", "zero-weight-random-bias"]
    init_params.scale = [0.01, 1, 100]  # a dotted path into a params table
    seed = "0..4"                       # an inclusive integer range: 0, 1, 2, 3, 4
    optimizer = ["sgd", "adam"]
    lr = [0.1, 1e-3]

The axes expand as a product, first axis outermost; a ``zip`` group counts as one axis (its axes
must have equal lengths) at the place of its first member. An axis whose name is not a config field
is a *bundle*: each value is a table of fields set together, e.g.
``scheme = [{init = "pytorch-default"}, {init = "zero-weight-random-bias", "init_params.scale" = 1}]``
for combinations a product cannot express. Each point is validated into a RunConfig and resolved
(``initlab.train.resolve_config``); its key (``RunConfig.key()``, the hash of the resolved config) is
its identity in the store, so points that resolve to the same config are one run.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from initlab.config import RunConfig, config_key, make_config, parse_assignment, read_toml
from initlab.errors import ConfigError
from initlab.store.export import flatten
from initlab.train import resolve_config

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


def parse_range(text: str) -> list[int] | None:
    """``"0..4"`` -> ``[0, 1, 2, 3, 4]`` (inclusive); None when ``text`` is not a range."""
    match = _RANGE.match(text)
    if match is None:
        return None
    first, last = int(match[1]), int(match[2])
    if last < first:
        raise ConfigError(f"range {text!r} is empty: its end must be >= its start")
    return list(range(first, last + 1))


def assign(data: dict[str, Any], path: str, value: Any) -> None:
    """Set dotted ``path`` in ``data``; a table assigned onto a table merges into it key by key."""
    *parents, last = path.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    if isinstance(value, Mapping) and isinstance(data.get(last), dict):
        data[last] = {**data[last], **value}
    else:
        data[last] = copy.deepcopy(value)


def is_field_path(path: str) -> bool:
    """Whether ``path`` names a RunConfig field (or a key inside one, e.g. ``init_params.scale``)."""
    return path.split(".", 1)[0] in RunConfig.model_fields


class SweepSpec(BaseModel):
    """A named grid: a base config (raw fields) and axes of values, with optional zip groups."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    base: dict[str, Any] = {}
    axes: dict[str, list[Any]] = {}
    zip: list[list[str]] = Field(default=[])

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a valid sweep name: use letters, digits and . _ / -")
        return name

    @field_validator("axes", mode="before")
    @classmethod
    def _normalize_axes(cls, axes: Any) -> Any:
        if not isinstance(axes, Mapping):
            return axes
        normalized = {}
        # TOML reads an unquoted ``init_params.scale = [...]`` as a nested table: flatten to dotted names
        for name, values in flatten(dict(axes)).items():
            if isinstance(values, str) and (span := parse_range(values)) is not None:
                values = span
            if not isinstance(values, list):
                raise ValueError(
                    f"axis {name!r} = {values!r} is not a list of values or a range 'a..b'; "
                    "put a fixed value in [base]"
                )
            if not values:
                raise ValueError(f"axis {name!r} has no values")
            if not is_field_path(name) and not all(isinstance(v, Mapping) for v in values):
                allowed = ", ".join(RunConfig.model_fields)
                raise ValueError(
                    f"axis {name!r} is not a config field (allowed: {allowed}), so it must be a bundle: "
                    "a list of tables of fields to set together"
                )
            normalized[name] = values
        return normalized

    @model_validator(mode="after")
    def _check_zip(self) -> SweepSpec:
        seen: set[str] = set()
        for group in self.zip:
            for axis in group:
                if axis not in self.axes:
                    raise ValueError(
                        f"zip names {axis!r}, which is not an axis; axes: {', '.join(self.axes)}"
                    )
                if axis in seen:
                    raise ValueError(f"axis {axis!r} is in more than one zip group")
                seen.add(axis)
            lengths = {axis: len(self.axes[axis]) for axis in group}
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{a} has {n}" for a, n in lengths.items())
                raise ValueError(f"zipped axes must have equal lengths: {shown}")
        return self

    def factors(self) -> list[list[str]]:
        """The axes grouped as the product multiplies them: zip groups together, in axis order."""
        group_of = {axis: tuple(group) for group in self.zip for axis in group}
        factors, placed = [], set()
        for axis in self.axes:
            group = group_of.get(axis, (axis,))
            if group not in placed:
                placed.add(group)
                factors.append(list(group))
        return factors


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: its axis values and its validated config."""

    index: int
    values: dict[str, Any]
    config: RunConfig

    @property
    def key(self) -> str:
        return self.config.key()


def plan(spec: SweepSpec) -> list[SweepPoint]:
    """The sweep's points in product order (first axis outermost), one per distinct config key."""
    factors = spec.factors()
    choices = [range(len(spec.axes[group[0]])) for group in factors]
    points: list[SweepPoint] = []
    keys: set[str] = set()
    for combo in itertools.product(*choices):
        values = {axis: spec.axes[axis][i] for group, i in zip(factors, combo, strict=True) for axis in group}
        data = copy.deepcopy(spec.base)
        for axis, value in values.items():
            if is_field_path(axis):
                assign(data, axis, value)
            else:
                for path, item in flatten(dict(value)).items():
                    assign(data, path, item)
        try:
            config = resolve_config(make_config(data))
        except ConfigError as exc:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "the base config"
            raise ConfigError(f"sweep {spec.name!r} at {shown}: {exc}") from None
        if config.key() not in keys:
            keys.add(config.key())
            points.append(SweepPoint(len(points), values, config))
    return points


def expand(spec: SweepSpec) -> list[RunConfig]:
    """The sweep's run configs, in plan order, one per distinct key."""
    return [point.config for point in plan(spec)]


def make_spec(data: Mapping[str, Any]) -> SweepSpec:
    """Validate ``data`` into a SweepSpec; problems become one ConfigError naming the bad value."""
    try:
        return SweepSpec.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(
                f"unknown sweep field {loc!r}; allowed: {', '.join(SweepSpec.model_fields)}"
            ) from None
        message = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"sweep {loc}: {message}" if loc else f"sweep: {message}") from None


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """A CLI axis ``name=values``: a TOML array (``lr=[0.1, 0.01]``), an inclusive range
    (``seed=0..4``) or comma-separated values (``init=zeros,pytorch-default``), each value read as
    a TOML value where it is one (``1e-3`` -> 0.001), else as a string."""
    name, raw = parse_assignment(text)
    if isinstance(raw, list):
        return name, raw
    if isinstance(raw, str):
        span = parse_range(raw)
        if span is not None:
            return name, span
        return name, [parse_assignment(f"v={item.strip()}")[1] for item in raw.split(",")]
    return name, [raw]


def load_sweep(
    path: str | Path | None = None,
    *,
    name: str | None = None,
    base: Mapping[str, Any] | None = None,
    axes: Mapping[str, Any] | None = None,
    zip: Sequence[Sequence[str]] = (),
) -> SweepSpec:
    """A sweep from a TOML file (optional) with CLI-style additions on top.

    ``base`` fields override the file's base (params tables merge key by key), ``axes`` are added
    after the file's (replacing an axis of the same name) and ``zip`` groups are appended. Without a
    name (argument or file), a sweep is named after its file, else after the hash of its content,
    so the same command line resumes the same sweep.
    """
    data: dict[str, Any] = read_toml(path) if path is not None else {}
    base_data = data.get("base", {})
    if isinstance(base_data, str):  # a run config file, relative to the sweep file
        base_path = Path(base_data)
        if path is not None and not base_path.is_absolute():
            base_path = Path(path).parent / base_path
        base_data = read_toml(base_path)
    base_data = copy.deepcopy(base_data)
    for key, value in (base or {}).items():
        assign(base_data, key, value)
    data["base"] = base_data
    data["axes"] = {**flatten(data.get("axes", {})), **(axes or {})}
    data["zip"] = [*data.get("zip", []), *(list(g) for g in zip)]
    if name is not None:
        data["name"] = name
    elif "name" not in data:
        data["name"] = Path(path).stem if path is not None else "sweep-" + config_key(data)[:8]
    return make_spec(data)
