"""The run config: one validated object saying what to train, how to init it and what to probe.

Plain data in the manner of nanoGPT's config dataclasses, validated by pydantic: the fields alone
(types, ranges, which combinations make sense). The names in it (dataset, model, init, probes) mean
something only to their registries, which live above this module; the layer that runs configs
resolves them (:func:`initlab.train.resolve_config`: each name checked, its params coerced and their
defaults filled), so that two configs that mean the same run have the same :meth:`RunConfig.key`.
A config can come from Python, from a TOML file with the same field names, or from the CLI, whose
flags override the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from initlab.errors import ConfigError

PositiveInt = Annotated[int, Field(gt=0)]

#: Fields that say where a run executes or where its names are found, not what it computes; they are
#: left out of the run key.
PLACEMENT_FIELDS = frozenset({"device", "imports"})
#: Fields added after runs were stored, with their defaults: left out of the run key while at their
#: default, so that the configs that existed before them keep their keys.
LATER_FIELDS: Mapping[str, Any] = {
    "model_source": None,
    "max_steps": None,
    "eval_every": None,
    "boost_steps": 0,
    "boost": 1.0,
    "task_params": {},
    "compile": False,
    "fused_optimizer": False,
}

#: Fields that make a run faster and change its numbers by float rounding only (kernels that order the
#: same arithmetic differently): a study can be run with them (``initlab study run --compile``).
SPEED_FIELDS = ("compile", "fused_optimizer")


class RunConfig(BaseModel):
    """Everything that defines one training run. Field names are the TOML keys and CLI flags."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # what to train on
    dataset: str = "mnist"
    dataset_params: dict[str, Any] = {}
    val_size: Annotated[int, Field(ge=0)] | None = None
    """Validation images split off the training set (None: the dataset's default, 7,000 for MNIST)."""
    train_size: PositiveInt | None = None
    """Train on only this many of the remaining training images (quick presets)."""
    normalize: bool = False
    """Standardize each input channel with the training split's mean and std."""
    augment: Literal["none", "crop-flip"] = "none"
    """``crop-flip``: pad 4, random crop and random horizontal flip of each training image."""

    # the model and its init
    model: str = "mnist-fnn"
    model_params: dict[str, Any] = {}
    init: str = "pytorch-default"
    init_params: dict[str, Any] = {}
    task_params: dict[str, Any] = {}
    """Params of the run's task (:mod:`initlab.tasks`), e.g. the denoiser's ``diffusion_steps``; left out
    of the run key while empty, so that configs without them keep their keys."""

    # optimisation
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: Annotated[float, Field(gt=0)] = 1e-3
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    nesterov: bool = False
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = (0.9, 0.999)
    schedule: Literal["constant", "cosine", "step"] = "constant"
    warmup_steps: Annotated[int, Field(ge=0)] = 0
    boost_steps: Annotated[int, Field(ge=0)] = 0
    """The first this many optimizer steps run at ``boost`` times the learning rate (on top of the
    schedule and warm-up)."""
    boost: Annotated[float, Field(gt=0)] = 1.0
    step_size: PositiveInt = 1
    """Epochs between decays of the ``step`` schedule."""
    gamma: Annotated[float, Field(gt=0, le=1)] = 0.1
    batch_size: PositiveInt = 128
    epochs: Annotated[int, Field(ge=0)] = 10
    max_steps: PositiveInt | None = None
    """Stop after this many optimizer steps, or after ``epochs`` epochs if that comes first (None:
    after ``epochs``); a run stopped inside an epoch evaluates there."""
    seed: Annotated[int, Field(ge=-(2**63), lt=2**63)] = 0
    """Every generator of the run derives from it; a 64-bit integer, as the store keeps it."""

    # execution and instruments
    device: str = "auto"
    eval_batch_size: PositiveInt = 1000
    log_every: PositiveInt = 50
    """Record the mean training loss every this many steps."""
    eval_every: PositiveInt | None = None
    """Also evaluate every this many steps inside an epoch (None: at the end of each epoch only)."""
    compile: bool = False
    """Train through ``torch.compile(model)`` (the loop's forward and backward; evaluation and probes
    see the module itself): the same numbers up to float rounding (kernels fused in another order), so
    part of the run key when true. Measured in ``benchmarks/step_speed.py``."""
    fused_optimizer: bool = False
    """Step the optimizer with PyTorch's fused kernel (``torch.optim.Adam(fused=True)``, likewise SGD and
    AdamW): one pass over each parameter instead of one per elementwise op, the same update up to float
    rounding (about 1e-7 relative), so part of the run key when true. Measured in
    ``benchmarks/step_speed.py``."""
    probes: dict[str, dict[str, Any]] = {}
    """Instruments to attach, by name, with their params (see ``initlab.probes.PROBES``)."""

    # the user's code (see initlab.imports)
    imports: list[str] = []
    """Modules imported before the names are resolved, for the models, schemes, probes or datasets
    they register (sweep workers import them too)."""
    model_source: str | None = None
    """Set from the model: the hash of its module's source for a user's model (import path or
    registered by user code), part of the run key; a value given must match it."""

    @model_validator(mode="after")
    def _check_combinations(self) -> RunConfig:
        if self.optimizer != "sgd" and (self.momentum or self.nesterov):
            raise ValueError(f"momentum and nesterov apply to optimizer='sgd' only, not {self.optimizer!r}")
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov=true needs momentum > 0")
        if self.boost != 1.0 and not self.boost_steps:
            raise ValueError(f"boost={self.boost!r} needs boost_steps > 0 (the steps it applies to)")
        if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", self.device):
            raise ValueError(f"device={self.device!r} is not allowed; allowed: auto, cpu, cuda, cuda:N")
        return self

    def key(self) -> str:
        """A stable hash of the config (placement fields, and the :data:`LATER_FIELDS` at their
        defaults, excluded): the run's identity, once the config is resolved
        (:func:`initlab.train.resolve_config`), which every path that runs configs does."""
        unset = {name for name, default in LATER_FIELDS.items() if getattr(self, name) == default}
        return config_key(self.model_dump(mode="json", exclude=PLACEMENT_FIELDS | unset))

    def label(self) -> str:
        """A short human-readable name: ``mnist-fnn/zero-weight-random-bias(dist=normal)/s0``."""
        params = ",".join(f"{k}={v}" for k, v in self.init_params.items())
        return f"{self.model}/{self.init}" + (f"({params})" if params else "") + f"/s{self.seed}"


def speed_variants(config: RunConfig) -> list[RunConfig]:
    """``config`` under every combination of the :data:`SPEED_FIELDS` (plain first, then one option on,
    then more): the same run up to float rounding, each under its own key."""
    combos = itertools.product((False, True), repeat=len(SPEED_FIELDS))
    return [
        config.model_copy(update=dict(zip(SPEED_FIELDS, combo, strict=True)))
        for combo in sorted(combos, key=sum)
    ]


def config_key(data: Mapping[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of ``data`` as canonical JSON."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def make_config(data: Mapping[str, Any]) -> RunConfig:
    """Validate ``data`` into a RunConfig; any problem becomes one ConfigError naming the bad value."""
    try:
        return RunConfig.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise validation_error(exc, data) from None


def validation_error(exc: pydantic.ValidationError, data: Mapping[str, Any]) -> ConfigError:
    """One readable ConfigError from a pydantic error: the field, the value given and what is allowed."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    loc = [str(p) for p in err["loc"]]
    if err["type"] == "extra_forbidden":
        allowed = ", ".join(RunConfig.model_fields)
        return ConfigError(f"unknown config field {loc[0]!r}; allowed: {allowed}")
    msg = err["msg"].removeprefix("Value error, ")
    if not loc:
        return ConfigError(msg)
    return ConfigError(f"{'.'.join(loc)}={data.get(loc[0])!r} is invalid: {msg}")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file is a ConfigError naming the file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """A RunConfig from a TOML file (optional) with ``overrides`` (e.g. CLI flags) on top.

    Param tables merge key by key: ``init_params`` from the file keep their keys unless overridden,
    and so do the params of each probe in ``probes``.
    """
    data: dict[str, Any] = read_toml(path) if path is not None else {}
    for key, value in (overrides or {}).items():
        if key.endswith("_params") and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        elif key == "probes" and isinstance(data.get(key), dict):
            data[key] = {**data[key], **{n: {**data[key].get(n, {}), **p} for n, p in value.items()}}
        else:
            data[key] = value
    return make_config(data)


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a CLI ``key=value``; the value is read as a TOML value when it is one, else a string.

    ``scale=1`` -> ("scale", 1); ``widths=[500, 300]`` -> ("widths", [500, 300]);
    ``dist=normal`` -> ("dist", "normal").
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{text!r} is not of the form key=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip(), value
