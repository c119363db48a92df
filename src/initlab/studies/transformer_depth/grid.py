"""The transformer-depth study's grid: causal decoder LMs on ``shakespeare-char``, Adam, depth and warm-up.

Five parts, each a sweep (a preset's sizes in :data:`SIZES`):

* ``depth``: post-LN without and with warm-up and pre-LN without, at every depth of the preset
  (Xiong et al. 2020, "On Layer Normalization in the Transformer Architecture", arXiv 2002.04745);
* ``schemes``: DeepNorm, Admin, T-Fixup (no LN), ReZero (no LN), DS-Init and NormFormer without warm-up at
  the deepest depth, with GPT-2's 1/√(2L) residual scaling against plain N(0, 0.02²) (both pre-LN);
* ``clones``: ``nn.TransformerEncoder``'s deep copies (``torch-clones``, PyTorch issue 72253) against
  its re-initialised layers (``torch-transformer-reset``), with ``grad-profile`` recording every
  group's weight norm through training;
* ``amplification``: one step at many depths and more seeds for the instruments at init:
  ``output-change`` (Admin's amplification, Liu et al. 2020, arXiv 2004.08249) and ``grad-profile``
  (NormFormer's gradient mismatch, Shleifer et al. 2021, arXiv 2110.09456).

Every variant is a bundle of run-config fields (:data:`VARIANTS`); :func:`variant_of` finds a stored
run's variant again from its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from initlab.studies.presets import Preset

Variant = Mapping[str, Any]
"""Run-config fields that make one architecture and init (``model_params`` merge into the base's)."""


def _decoder(norm: str, init: str, **params: Any) -> dict[str, Any]:
    return {"model": "transformer", "model_params": {"norm": norm, **params}, "init": init}


#: The architectures and inits the papers compare (README, "Transformers at depth").
VARIANTS: dict[str, Variant] = {
    "post-ln": _decoder("post", "xavier-uniform"),
    "pre-ln": _decoder("pre", "xavier-uniform"),
    "normformer": _decoder("pre", "xavier-uniform", normformer=True),
    "deepnorm": _decoder("post", "deepnorm"),
    "admin": _decoder("post", "admin"),
    "t-fixup": _decoder("none", "t-fixup"),
    "rezero": _decoder("none", "rezero"),
    "ds-init": _decoder("post", "ds-init"),
    "gpt2": _decoder("pre", "gpt2"),
    "normal-0.02": {**_decoder("pre", "normal"), "init_params": {"std": 0.02, "bias": "zeros"}},
    "torch-clones": {
        "model": "torch-transformer",
        "model_params": {"norm_first": True},
        "init": "torch-clones",
    },
    "torch-reset": {
        "model": "torch-transformer",
        "model_params": {"norm_first": True},
        "init": "torch-transformer-reset",
    },
}
#: The schemes of claim 3, each trained without warm-up at the deepest depth.
SCHEMES = ("deepnorm", "admin", "t-fixup", "rezero", "ds-init")
#: The clones part records the weight norms on its first steps 0 … CLONE_FIRST − 1 (how fast the copies
#: separate), then every ``clone_every`` steps.
CLONE_FIRST = 4
#: The variants whose output change and gradient profile are measured at init across depths.
AMPLIFIED = ("post-ln", "pre-ln", "deepnorm", "normformer")


@dataclass(frozen=True)
class Sizes:
    """One preset's model, data and training sizes."""

    width: int
    heads: int
    context: int
    batch_size: int
    eval_windows: int
    lr: float
    steps: int
    eval_every: int
    warmup: int
    """Linear warm-up steps of the warm-up arm (``warmup_steps``)."""
    seeds: int
    depths: tuple[int, ...]
    clone_depth: int
    amplified_depths: tuple[int, ...]
    amplified_seeds: int
    clone_every: int
    """Steps between the clones part's weight-norm records after its first :data:`CLONE_FIRST`."""

    @property
    def deepest(self) -> int:
        return max(self.depths)


#: Quick: a width-32 decoder, context 64, batch 16, 300 Adam steps at 3e-3 (about 20 s at depth 12 on one
#: core of the shared machine); full: width 256, context 128, depths to 48, 5,000 steps at 1e-3.
SIZES: dict[Preset, Sizes] = {
    "quick": Sizes(
        width=32,
        heads=2,
        context=64,
        batch_size=16,
        eval_windows=64,
        lr=3e-3,
        steps=300,
        eval_every=25,
        warmup=100,
        seeds=2,
        depths=(2, 6, 12),
        clone_depth=6,
        amplified_depths=(1, 2, 4, 8, 12),
        amplified_seeds=4,
        clone_every=25,
    ),
    "full": Sizes(
        width=256,
        heads=4,
        context=128,
        batch_size=32,
        eval_windows=256,
        lr=1e-3,
        steps=5_000,
        eval_every=250,
        warmup=1_000,
        seeds=4,
        depths=(3, 6, 12, 24, 48),
        clone_depth=12,
        amplified_depths=(1, 2, 4, 8, 16, 32, 64),
        amplified_seeds=8,
        clone_every=100,
    ),
}


def _base(sizes: Sizes, steps: int, eval_every: int | None) -> dict[str, Any]:
    base: dict[str, Any] = {
        "dataset": "shakespeare-char",
        "dataset_params": {"context": sizes.context, "eval_windows": sizes.eval_windows},
        "model_params": {"kind": "decoder", "width": sizes.width, "heads": sizes.heads},
        "optimizer": "adam",
        "lr": sizes.lr,
        "batch_size": sizes.batch_size,
        "epochs": 1_000,
        "max_steps": steps,
    }
    return {**base, "eval_every": eval_every} if eval_every is not None else base


def _part(name: str, base: dict[str, Any], axes: dict[str, Any], seeds: int) -> dict[str, Any]:
    return {"name": name, "base": base, "axes": {**axes, "seed": f"0..{seeds - 1}"}}


def sweeps(preset: Preset) -> list[dict[str, Any]]:
    s = SIZES[preset]
    train = _base(s, s.steps, s.eval_every)
    arms = [
        {**VARIANTS["post-ln"], "warmup_steps": 0},
        {**VARIANTS["post-ln"], "warmup_steps": s.warmup},
        {**VARIANTS["pre-ln"], "warmup_steps": 0},
    ]
    deep = {**train, "model_params": {**train["model_params"], "depth": s.deepest}}
    clones = {
        **train,
        "model_params": {**train["model_params"], "depth": s.clone_depth},
        "probes": {"grad-profile": {"first": CLONE_FIRST, "every": s.clone_every}},
    }
    amplified = {
        **_base(s, 1, None),
        "probes": {"output-change": {"first": 1, "every": 0}, "grad-profile": {"first": 1, "every": 0}},
    }
    return [
        _part("depth", train, {"arm": arms, "model_params.depth": list(s.depths)}, s.seeds),
        _part(
            "schemes",
            deep,
            {"arm": [VARIANTS[v] for v in (*SCHEMES, "normformer", "gpt2", "normal-0.02")]},
            s.seeds,
        ),
        _part("clones", clones, {"arm": [VARIANTS["torch-clones"], VARIANTS["torch-reset"]]}, s.seeds),
        _part(
            "amplification",
            amplified,
            {"arm": [VARIANTS[v] for v in AMPLIFIED], "model_params.depth": list(s.amplified_depths)},
            s.amplified_seeds,
        ),
    ]


def _matches(config: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    for key, value in fields.items():
        given = config.get(key)
        if isinstance(value, Mapping):
            if not isinstance(given, Mapping) or not _matches(given, value):
                return False
        elif given != value and not (value is False and given is None):
            return False
    return True


def variant_of(config: Mapping[str, Any]) -> str | None:
    """The name of the variant a stored run's config is (None: none of :data:`VARIANTS`); NormFormer is
    told from pre-LN by ``normformer``, which is left out of a config at its default."""
    for name, fields in VARIANTS.items():
        plain = {**fields, "model_params": {"normformer": False, **fields["model_params"]}}
        if fields["model"] == "transformer" and _matches(config, plain):
            return name
        if fields["model"] != "transformer" and _matches(config, fields):
            return name
    return None


def part_of(config: Mapping[str, Any]) -> str:
    """``amplification`` for the one-step runs, else ``training``."""
    return "amplification" if config.get("max_steps") == 1 else "training"
