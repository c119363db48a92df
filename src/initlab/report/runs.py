"""Runs read back from the store, and their grouping into conditions.

A *condition* is the set of runs whose resolved configs are equal apart from the seed (and the
device, which says where a run executed, not what it computed). Each condition gets a readable label
built from what differs between the conditions, e.g. ``init=zero-weight-random-bias(dist=uniform)``.
Everything here is read from the store: nothing depends on a run held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from initlab.config import SPEED_FIELDS, config_key
from initlab.errors import ConfigError
from initlab.records import MetricRow, RunStatus
from initlab.store import RunRecord, Store
from initlab.store.export import flatten

#: Config fields that do not define a condition: the seed varies within it; the device and the imported
#: modules are placement; the speed options change the numbers by float rounding only.
NOT_CONDITION_FIELDS = ("seed", "device", "imports", *SPEED_FIELDS)
#: Config fields that runs stored before they existed lack: left out of a condition while unset (None),
#: so that old and new runs of one condition group together.
OPTIONAL_FIELDS = ("model_source",)
#: Name fields whose params table (``<name>_params``) is shown inside parentheses in labels.
NAMED_FIELDS = ("dataset", "model", "init")


def parse_metric(metric: str) -> tuple[str, str]:
    """``"test_accuracy"`` -> ``("test", "accuracy")``: the split, then the metric's name in the store."""
    split, sep, name = metric.partition("_")
    if not sep or not name:
        raise ConfigError(f"metric {metric!r} is not of the form SPLIT_NAME, e.g. test_accuracy or val_loss")
    return split, name


@dataclass(frozen=True)
class StoredRun:
    """One run's record and metric rows, as the store holds them."""

    record: RunRecord
    metrics: tuple[MetricRow, ...]

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def status(self) -> RunStatus:
        return self.record.status

    def metric_names(self) -> set[str]:
        """The metrics this run recorded, as ``split_name`` (e.g. ``test_accuracy``)."""
        return {f"{m.split}_{m.name}" for m in self.metrics}

    def series(self, metric: str, x: str = "epoch") -> dict[int, float]:
        """``{epoch (or step): value}`` of ``metric``; each x must occur once (batch_loss: use step)."""
        if x not in ("epoch", "step"):
            raise ConfigError(f"curve axis x={x!r} is not allowed; allowed: epoch, step")
        split, name = parse_metric(metric)
        out: dict[int, float] = {}
        for m in self.metrics:
            if m.split == split and m.name == name:
                at = m.epoch if x == "epoch" else m.step
                if at in out:
                    raise ConfigError(f"metric {metric!r} has several values per {x}; plot it against step")
                out[at] = m.value
        return out

    def final(self, metric: str) -> float | None:
        """The last recorded value of ``metric`` (None if the run never recorded it)."""
        split, name = parse_metric(metric)
        values = [m.value for m in self.metrics if m.split == split and m.name == name]
        return values[-1] if values else None


@dataclass(frozen=True)
class Condition:
    """Runs that differ only in their seed."""

    key: str
    """``config_key`` of the shared config: stable across stores and sessions."""
    label: str
    config: dict[str, Any]
    """The resolved config shared by the runs (seed and device left out)."""
    params: dict[str, Any]
    """This condition's values of the flattened config keys that differ between the grouped conditions."""
    runs: tuple[StoredRun, ...]

    def with_status(self, *statuses: RunStatus) -> list[StoredRun]:
        return [r for r in self.runs if r.status in statuses]

    def count(self, status: RunStatus) -> int:
        return sum(r.status == status for r in self.runs)

    def value(self, key: str) -> Any:
        """A config value by flattened key, e.g. ``init_params.scale``; None if absent."""
        return flatten(self.config).get(key)


def load_runs(
    store: Store,
    *,
    dataset: str | None = None,
    model: str | None = None,
    init: str | None = None,
    config_hashes: Collection[str] | None = None,
    run_ids: Collection[str] | None = None,
) -> list[StoredRun]:
    """The store's runs (in start order) that match every filter given, with their metrics."""
    records = store.runs(dataset=dataset, model=model, init=init)
    if config_hashes is not None:
        records = [r for r in records if r.config_hash in set(config_hashes)]
    if run_ids is not None:
        records = [r for r in records if r.id in set(run_ids)]
    return [StoredRun(r, tuple(store.metrics(r.id))) for r in records]


def group_conditions(runs: Iterable[StoredRun]) -> list[Condition]:
    """Group ``runs`` by config apart from the seed, in order of each condition's first run."""
    groups: dict[str, tuple[dict[str, Any], list[StoredRun]]] = {}
    for run in runs:
        config = {
            k: v
            for k, v in run.record.config.items()
            if k not in NOT_CONDITION_FIELDS and not (k in OPTIONAL_FIELDS and v is None)
        }
        groups.setdefault(config_key(config), (config, []))[1].append(run)
    configs = [config for config, _ in groups.values()]
    differing = _differing_keys(configs)
    labels = condition_labels(configs)
    return [
        Condition(key, label, config, {k: flatten(config).get(k) for k in differing}, tuple(members))
        for (key, (config, members)), label in zip(groups.items(), labels, strict=True)
    ]


def condition_labels(configs: Sequence[dict[str, Any]]) -> list[str]:
    """What sets each config apart, e.g. ``model=mlp, init=zero-weight-random-bias(dist=uniform)``.

    A name field (dataset, model, init) shows when its name or params differ, with the params that
    differ between the configs of the same name in parentheses; any other differing key shows as
    ``key=value``. When nothing differs: the model, and the init with all its params.
    """
    differing = _differing_keys(configs)
    labels = []
    for config in configs:
        parts = []
        for field in NAMED_FIELDS:
            params = flatten(config.get(f"{field}_params", {}))
            same_name = [flatten(c.get(f"{field}_params", {})) for c in configs if c[field] == config[field]]
            shown = _differing_keys(same_name)
            if field in differing or shown:
                parts.append(_named(field, config[field], {k: params.get(k) for k in shown if k in params}))
        flat = flatten(config)
        parts += [f"{k}={format_value(flat.get(k))}" for k in differing if _named_field(k) is None]
        if not parts:
            parts = [
                f"model={config['model']}",
                _named("init", config["init"], config.get("init_params", {})),
            ]
        labels.append(", ".join(parts))
    return _unique(labels)


def _named(field: str, name: str, params: dict[str, Any]) -> str:
    inner = ",".join(f"{k}={format_value(v)}" for k, v in params.items())
    return f"{field}={name}" + (f"({inner})" if inner else "")


def format_value(value: Any) -> str:
    """A config value as labels show it: ``1e-05``, ``true``, ``[500,300]``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Flattened keys whose values are not the same in every config (a missing key counts as a value)."""
    flats = [flatten(c) for c in configs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    canon = [[json.dumps(f.get(k), sort_keys=True) for f in flats] for k in keys]
    return sorted((k for k, values in zip(keys, canon, strict=True) if len(set(values)) > 1), key=_key_order)


def _named_field(key: str) -> str | None:
    """The name field a flattened key belongs to: ``init_params.scale`` -> ``init``; else None."""
    head = key.split(".", 1)[0].removesuffix("_params")
    return head if head in NAMED_FIELDS else None


def _key_order(key: str) -> tuple[int, str]:
    field = _named_field(key)
    return (NAMED_FIELDS.index(field) if field else len(NAMED_FIELDS), key)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return out
