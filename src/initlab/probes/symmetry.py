"""The ``symmetry`` probe: groups of identical units, whether gradient descent can ever separate them,
and the numerical and effective rank of every weight matrix.

The condition under which identical units stay identical forever is stated in
:class:`SymmetryProbe`'s docstring (shown by ``initlab probes symmetry``).

**Rank.** Zero weights with random biases give units that are distinct (their biases differ) but
collinear: each weight update is an outer product with an input-independent factor, so a weight
matrix is exactly rank 1 after its first update — the weaker symmetry the ZerO paper (Zhao et al.
2021, arXiv 2110.12661) calls training degeneracy. The probe reports the numerical rank (singular
values above σ_max·max(m, n)·ε of the weight's dtype, as ``torch.linalg.matrix_rank``) and the
effective rank exp(−Σ p_k log p_k), p_k = σ_k/Σσ (Roy & Vetterli 2007; over the singular values the
numerical rank keeps, so that float rounding does not count; 0 for a zero matrix), of every weight
matrix (a conv's weight flattened to out × in·k·k), so its growth over steps shows how fast training
escapes the degeneracy.

**Rank from the Gram matrix** (``rank_method="gram"``): the singular values as σ_k = sqrt(λ_k) of the
eigenvalues of the Gram matrix G = W·Wᵀ of the smaller side, formed and diagonalised in float64 (the
MNIST MLP's weights: 26 ms against 39 ms for the float32 SVDs, one CPU thread). Rounding perturbs each
λ_k by at most about d·ε₆₄·σ_max² (Weyl's inequality; d the inner dimension), so σ_k keeps a relative
error of about d·ε₆₄·(σ_max/σ_k)²/2: 1e-8 for a σ_k at the numerical-rank tolerance of a float32
784-wide weight (784·ε₃₂·σ_max), far below the float32 SVD's own error there (about ε₃₂·σ_max, 1e-3
relative). The numerical rank is the same unless a singular value lies within that 0.1% of the
tolerance, and the effective rank agrees to about 1e-5 relative (tested on trained and rank-one MNIST
weights). A float32 Gram would lose every σ below sqrt(d·ε₃₂)·σ_max ≈ 1e-2·σ_max, and with them the
small singular values whose growth measures the escape from degeneracy, so it is not offered. ``svd``
(the default) keeps ``torch.linalg.svdvals``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Self

import torch
from pydantic import Field
from torch import nn

from initlab.callbacks import TrainContext
from initlab.models.roles import weight_layers
from initlab.probes.base import Every, First, Probe
from initlab.probes.grouping import group_rows, group_sizes
from initlab.probes.registry import register_probe
from initlab.probes.trace import first_samples, trace_model
from initlab.probes.units import UnitGraph
from initlab.records import ProbeRow

#: Samples the verdict's traced forward pass uses (two, so BatchNorm can compute batch statistics).
TRACE_SAMPLES = 2


@dataclass(frozen=True)
class Verdict:
    """One layer's symmetry at one step.

    ``permanent_largest_group`` is the size of the largest group of units that satisfies the
    condition stated in :class:`SymmetryProbe` (1: none does), None when the layer could not be analysed;
    ``reason`` says why the largest group of identical units is, or is not, permanent.
    """

    layer: str
    units: int
    distinct: int
    largest_group: int
    grouped_fraction: float
    permanent_largest_group: int | None
    permanent_fraction: float | None
    reason: str

    @property
    def permanent(self) -> bool | None:
        """Whether some group of identical units can never be separated (None: not analysed)."""
        if self.permanent_largest_group is None:
            return None
        return self.permanent_largest_group > 1

    def rows(self, step: int) -> list[ProbeRow]:
        values = {
            "units": self.units,
            "distinct": self.distinct,
            "largest_group": self.largest_group,
            "grouped_fraction": self.grouped_fraction,
            "permanent_largest_group": self.permanent_largest_group,
            "permanent_fraction": self.permanent_fraction,
        }
        return [ProbeRow(step, self.layer, k, float(v)) for k, v in values.items() if v is not None]


RankMethod = Literal["svd", "gram"]


def gram_singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """The singular values of ``matrix`` (descending, float64) as the square roots of the eigenvalues of
    its float64 Gram matrix over the smaller side (negative rounding clamped to 0)."""
    m = matrix.double()
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return torch.linalg.eigvalsh(gram).flip(0).clamp_min(0).sqrt()


def rank_and_effective_rank(weight: torch.Tensor, method: RankMethod = "svd") -> tuple[int, float]:
    """Numerical rank (``torch.linalg.matrix_rank``'s default tolerance, for ``weight``'s dtype) and
    effective rank exp(−Σ p log p), p = σ/Σσ over the singular values above that tolerance (rounding
    noise would otherwise count), of ``weight`` flattened to (out, rest); σ from ``svdvals`` or, with
    ``method="gram"``, from :func:`gram_singular_values` (the module docstring bounds the difference)."""
    matrix = weight.detach().reshape(weight.shape[0], -1)
    sv = torch.linalg.svdvals(matrix) if method == "svd" else gram_singular_values(matrix)
    if float(sv[0]) == 0.0:
        return 0, 0.0
    tol = sv[0] * max(matrix.shape) * torch.finfo(matrix.dtype).eps
    kept = sv[sv > tol].double()
    p = kept / kept.sum()
    return len(kept), float((-(p * p.log()).sum()).exp())


@register_probe
class SymmetryProbe(Probe):
    """Groups of identical units per layer, whether training can ever separate them, and weight ranks.

    **When two units stay identical forever.** Let units *i* and *j* be two output rows of a Linear layer
    (or two output channels of a Conv layer), and let *P* be the swap of every parameter slice that
    belongs to them: rows *i* and *j* of the layer's weight and bias; the same rows of every layer whose
    output is added to or multiplied with theirs (the other producers of a residual stream, a gate); the
    per-unit parameters between them and the next weight layers (BatchNorm or LayerNorm γ and β,
    per-channel scales and biases); and input columns (Linear) or input channels (Conv) *i* and *j* of
    every weight layer that reads them. The units stay identical at every later step, on every batch, if

    1. *θ = Pθ*: all those slices are equal for *i* and *j*, and so is the optimizer's per-parameter state
       (momentum buffers, Adam's moments);
    2. the loss is invariant under *P* for every θ and every batch, *L(Pθ) = L(θ)*: every op between the
       units and their readers treats units alike — elementwise activations, scalar multipliers and
       biases, per-channel ops whose parameters are part of *P* (BatchNorm over channels is per unit but
       permutation-equivariant), pooling over space, flatten and reshapes, normalisations and reductions
       whose slices hold both units alike;
    3. the optimizer is an elementwise, permutation-equivariant map of (gradient, state): SGD, momentum,
       Nesterov, weight decay, Adam and AdamW are (so is clipping by a global norm).

    Differentiating (2) gives ∇L(θ) = P∇L(Pθ); with (1) the gradient is itself *P*-symmetric, (3) keeps
    the updated parameters and state *P*-symmetric, and by induction the units never separate, whatever
    the data and the learning rate. The condition fails, and the units do separate, when they pass
    through **dropout** (a random mask per unit); when they **feed the model's output** (the loss treats
    each class differently); when they are **added to a skip path that differs per unit** (a residual
    branch's zero-initialized last layer, as in Fixup or zero-γ, is added to a stream whose channels
    differ: the zero layer is *not* a permanent symmetry); when a per-unit parameter or constant in between
    differs (BatchNorm γ, a positional table); for a **grouped conv**, when the units sit in different
    groups; and whenever the data-dependent op between them is not one of the equivariant ones above.

    The verdict is found for any module graph: :mod:`initlab.probes.units` follows one traced forward
    pass (on two samples of the batch) to find each unit's slices, ties and breakers, and an op it does not
    know counts as a breaker (the verdict is conservative and names the op). In floating point, units
    that satisfy the condition get bitwise-equal gradients when the kernels treat every row alike (CPU
    GEMMs do); nondeterministic kernels can split them by rounding, which the tolerance absorbs.

    Rows per weight layer: ``units``, ``distinct`` (groups of identical incoming weights and bias),
    ``largest_group``, ``grouped_fraction`` (units in groups of two or more), ``permanent_largest_group``
    and ``permanent_fraction`` (the same for groups that satisfy the condition), ``rank`` and
    ``effective_rank``. ``verdicts`` holds each layer's :class:`Verdict` with its reason. ``rtol``/``atol``:
    the tolerance of "identical", elementwise as in ``torch.isclose``. ``rank``: the rank rows on every
    record (True), never (False: no SVDs), or on the records of steps that are multiples of an integer
    N (e.g. ``first=1000, every=1, rank=100``: groups every step, ranks every 100 steps).
    ``rank_method``: ``svd`` (default) or ``gram``, the singular values from the float64 Gram matrix's
    eigenvalues, about a third faster and as accurate (see the module docstring).

    Cost on the MNIST MLP (784-500-10), one CPU thread, against its 4.5–5 ms training step: the groups
    and verdict take about 0.4–0.9 ms per record (:mod:`initlab.probes.grouping`; the module graph is
    traced once, on two samples, and kept); the SVDs of the rank about 36 ms, seven to eight steps,
    for any schedule of the groups (``benchmarks/probe_overhead.py``): hence the schedule, and the
    separate cadence of ``rank``.
    """

    name = "symmetry"
    keyless_defaults = ("rank_method",)

    def __init__(
        self,
        *,
        first: First = 10,
        every: Every = 50,
        rtol: Annotated[float, Field(ge=0)] = 1e-6,
        atol: Annotated[float, Field(ge=0)] = 0.0,
        rank: bool | Annotated[int, Field(ge=0)] = True,
        rank_method: RankMethod = "svd",
    ):
        super().__init__(first=first, every=every)
        self.rtol, self.atol = rtol, atol
        self.rank_method = rank_method
        self.rank_every = int(rank)
        """Ranks on the records of steps that are multiples of this (0: never)."""
        self.graph: UnitGraph | None = None
        self.verdicts: dict[str, Verdict] = {}

    def attach(
        self,
        model: nn.Module,
        *,
        inputs: torch.Tensor | None = None,
        optimizer: torch.optim.Optimizer | None = None,
    ) -> Self:
        """Watch ``model``; the permanence verdict needs ``inputs`` (any batch it takes) to trace the
        module graph, and reads ``optimizer``'s state when given."""
        super().attach(model, inputs=inputs, optimizer=optimizer)
        self.graph = None
        return self

    def detach(self) -> None:
        super().detach()
        self.graph = None

    def record(self, step: int) -> list[ProbeRow]:
        model = self._attached()
        if self.graph is None and self.inputs is not None:
            self.graph = UnitGraph(model, trace_model(model, first_samples(self.inputs, TRACE_SAMPLES)))
        rows: list[ProbeRow] = []
        for name, module in weight_layers(model):
            verdict = self.verdict(name, module)
            self.verdicts[name] = verdict
            rows += verdict.rows(step)
            if self.rank_every and step % self.rank_every == 0:
                rank, effective = rank_and_effective_rank(module.weight, self.rank_method)
                rows += [
                    ProbeRow(step, name, "rank", float(rank)),
                    ProbeRow(step, name, "effective_rank", effective),
                ]
        return self._keep(rows)

    def verdict(self, name: str, module: nn.Module) -> Verdict:
        """The symmetry of layer ``name`` (``module``) now."""
        weight = module.weight.detach()
        size = weight.shape[0]
        columns = [weight.reshape(size, -1)]
        if getattr(module, "bias", None) is not None:
            columns.append(module.bias.detach().reshape(size, 1))
        groups = getattr(module, "groups", 1)
        if groups > 1:
            columns.append((torch.arange(size, device=weight.device) // (size // groups)).reshape(size, 1))
        labels = group_rows(columns, self.rtol, self.atol)
        sizes = group_sizes(labels)
        largest = int(sizes.max())
        distinct, grouped = size, 0.0  # all units distinct: nothing more to count
        if largest > 1:
            distinct = int((labels == torch.arange(size, device=labels.device)).sum())  # groups' first rows
            grouped = float((sizes > 1).float().mean())
        common = dict(
            layer=name, units=size, distinct=distinct, largest_group=largest, grouped_fraction=grouped
        )
        if self.graph is None or name not in self.graph.producers:
            why = (
                "no example inputs to trace"
                if self.graph is None
                else "not called in the traced forward pass"
            )
            return Verdict(
                **common, permanent_largest_group=None, permanent_fraction=None, reason=f"not analysed: {why}"
            )
        if largest == 1:
            return Verdict(
                **common, permanent_largest_group=1, permanent_fraction=0.0, reason="all units are distinct"
            )
        permanent = self._permanent_groups(name, labels, sizes)
        perm_sizes = group_sizes(permanent)
        members = (labels == labels[int(sizes.argmax())]).nonzero().flatten().tolist()
        return Verdict(
            **common,
            permanent_largest_group=int(perm_sizes.max()),
            permanent_fraction=float((perm_sizes > 1).float().mean()),
            reason=self._explain(name, members, permanent),
        )

    def _permanent_groups(self, name: str, labels: torch.Tensor, sizes: torch.Tensor) -> torch.Tensor:
        """Group labels of the layer's units by their full signature (singletons where broken)."""
        graph = self.graph
        units = graph.units_of(name)
        permanent = torch.arange(len(units), device=labels.device)
        classes: dict[tuple, list[int]] = {}
        for local in (sizes > 1).nonzero().flatten().tolist():
            if graph.broken(units[local]) is None:
                classes.setdefault(graph.structure(units[local]), []).append(local)
        for members in classes.values():
            if len(members) < 2:
                continue
            blocks = graph.signatures([units[m] for m in members], self.optimizer)
            grouped = group_rows([rows.to(labels.device) for _, rows in blocks], self.rtol, self.atol)
            index = torch.tensor(members, device=labels.device)
            permanent[index] = index[grouped.to(labels.device)]
        return permanent

    def _explain(self, name: str, members: list[int], permanent: torch.Tensor) -> str:
        """Why the group of identical units ``members`` is, or is not, a permanent symmetry."""
        graph = self.graph
        units = graph.units_of(name)
        apart = [m for m in members if permanent[m] != permanent[members[0]]]
        if not apart:
            return "permanent: identical incoming, per-unit and outgoing slices and optimizer state"
        a, b = units[members[0]], units[apart[0]]
        reason = graph.broken(a) or graph.broken(b)
        if reason is not None:
            return f"not permanent: {reason}"
        if graph.structure(a) != graph.structure(b):
            return "not permanent: the units are tied to different units of other layers"
        for what, rows in graph.signatures([a, b], self.optimizer):
            x, y = rows[0].double(), rows[1].double()
            if not bool(((x - y).abs() <= self.atol + self.rtol * torch.maximum(x.abs(), y.abs())).all()):
                return f"not permanent: {what} differ"
        return "not permanent: the units differ"

    # -- callback ---------------------------------------------------------------------------------

    def on_step_start(self, ctx: TrainContext) -> None:
        self._take_inputs(ctx)
        if ctx.step == 0 and self.schedule(0):
            self.record(0)

    def on_step_end(self, ctx: TrainContext) -> None:
        if self.schedule(ctx.step + 1):
            self.record(ctx.step + 1)
