"""What each stored run of the transformer-depth study shows: its variant, depth, warm-up and seed, its
validation bpc per evaluated step, whether it diverged, and the instruments' numbers.

* ``output_change``: the ``output-change`` probe's ``perturbation_change_relative`` at step 0,
  E‖F(x, W + δ) − F(x, W)‖² / E‖F(x, W)‖² for a random δ of relative size 10⁻³ per tensor (Admin's
  amplification, Liu et al. 2020, arXiv 2004.08249, §4);
* ``update_change``: the same probe's ``update_change_relative`` at step 0, E‖F(x, W₁) − F(x, W₀)‖² /
  E‖F(x, W₀)‖² for the first Adam update W₀ → W₁ (the model update DeepNorm bounds, Wang et al. 2022,
  arXiv 2203.00555, §4);
* ``layer_grad``: per transformer layer l, ‖∂L/∂θ_l‖₂ at step 0 over both of its residual blocks,
  √(Σ_g grad_norm_g²) over the ``grad-profile`` groups marked with layer l;
* ``weight_norms``: per recorded step, every ``grad-profile`` group's ‖θ_g‖₂ (the clones part).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from initlab.report import StoredRun
from initlab.store import Store
from initlab.studies.base import StudyRuns
from initlab.studies.transformer_depth.grid import part_of, variant_of

METRIC = "val_bpc"
#: A layer index inside a group's name (``encoder.layers.3.self_attn``, ``blocks.3.attn``).
_LAYER_INDEX = re.compile(r"\.\d+\.")


@dataclass(frozen=True)
class RunFacts:
    """One run of the study (finished or diverged)."""

    run: StoredRun
    variant: str
    part: str
    depth: int
    warmup: int
    bpc: dict[int, float]
    """Validation bpc per evaluated step."""
    diverged: bool
    output_change: float | None = None
    update_change: float | None = None
    layer_grad: dict[int, float] = field(default_factory=dict)
    weight_norms: dict[int, dict[str, float]] = field(default_factory=dict)
    """Step → group → ‖θ_g‖₂."""

    @property
    def seed(self) -> int:
        return self.run.record.seed

    @property
    def final_bpc(self) -> float:
        """The last validation bpc; ∞ for a diverged run (its loss turned non-finite)."""
        if self.diverged or not self.bpc:
            return math.inf
        return self.bpc[max(self.bpc)]

    def steps_to(self, target: float) -> int | None:
        """The first evaluated step whose validation bpc is at most ``target`` (None: never)."""
        hits = [s for s, v in sorted(self.bpc.items()) if v <= target]
        return hits[0] if hits else None


def run_facts(store: Store, run: StoredRun, variant: str) -> RunFacts:
    config = run.record.config
    changes = {r.name: r.value for _, r in store.probe_rows(run.id, "output-change") if r.step == 0}
    profile = store.probe_rows(run.id, "grad-profile")
    layers = {r.layer: int(r.value) for _, r in profile if r.name == "layer"}
    squares: dict[int, float] = {}
    norms: dict[int, dict[str, float]] = {}
    for _, r in profile:
        if r.name == "grad_norm" and r.step == 0 and r.layer in layers:
            squares[layers[r.layer]] = squares.get(layers[r.layer], 0.0) + r.value**2
        elif r.name == "weight_norm":
            norms.setdefault(r.step, {})[r.layer] = r.value
    return RunFacts(
        run=run,
        variant=variant,
        part=part_of(config),
        depth=int(config["model_params"]["depth"]),
        warmup=int(config.get("warmup_steps") or 0),
        bpc={s: v for s, v in run.series(METRIC, x="step").items() if s is not None},
        diverged=run.status == "diverged",
        output_change=changes.get("perturbation_change_relative"),
        update_change=changes.get("update_change_relative"),
        layer_grad={layer: math.sqrt(sq) for layer, sq in sorted(squares.items())},
        weight_norms=norms,
    )


def study_facts(data: StudyRuns) -> list[RunFacts]:
    """Facts of every finished or diverged run of the study whose variant is one of the grid's."""
    out = []
    for run in data.runs:
        variant = variant_of(run.record.config)
        if run.status in ("finished", "diverged") and variant is not None:
            out.append(run_facts(data.store, run, variant))
    return out


def where(facts: Sequence[RunFacts], **fields: Any) -> list[RunFacts]:
    """The runs whose attributes have every ``field=value`` of ``fields``."""
    return [f for f in facts if all(getattr(f, k) == v for k, v in fields.items())]


def training(facts: Sequence[RunFacts], **fields: Any) -> list[RunFacts]:
    """The trained runs (not the one-step amplification runs) with ``fields``."""
    return where(facts, part="training", **fields)


def depths_of(facts: Sequence[RunFacts]) -> list[int]:
    return sorted({f.depth for f in facts})


def layer_spread(norms: dict[str, float]) -> float:
    """How far apart the layers' copies of each block are, as a lower bound: over the groups that repeat
    in every layer (same name up to the layer index), the largest (max − min)/mean of ‖θ_g‖₂ across the
    layers. Exactly 0 when the layers are bitwise copies; > 0 proves they differ, since
    |‖θ_i‖ − ‖θ_j‖| ≤ ‖θ_i − θ_j‖. NaN without repeated groups."""
    by_block: dict[str, list[float]] = {}
    for name, value in norms.items():
        if _LAYER_INDEX.search(name):
            by_block.setdefault(_LAYER_INDEX.sub(".*.", name, count=1), []).append(value)
    spreads = [(max(v) - min(v)) / (sum(v) / len(v)) for v in by_block.values() if len(v) > 1 and sum(v) > 0]
    return max(spreads) if spreads else math.nan
