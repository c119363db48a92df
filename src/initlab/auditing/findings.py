"""What the audit flags beyond per-parameter statistics.

- **copies**: tensors that are exact copies of other tensors. ``nn.TransformerEncoder(layer, N)``
  deep-copies one layer (``_get_clones``), so every layer starts identical unless re-initialised
  (PyTorch issue 72253): reported as "layers 1–N−1 of ``layers`` are copies of layer 0";
- **packed q/k/v**: ``nn.MultiheadAttention`` runs ``xavier_uniform_`` on its packed (3E × E)
  ``in_proj_weight``, whose fan-out 3E gives std √(2/(E + 3E)) = 1/√(2E), 1/√2 of the Xavier std
  1/√E of three separate E × E matrices (PyTorch issue 166378); flagged where a packed matrix
  (or a layer marked ``qkv``) has that std, within 6 standard errors σ/√(2n);
- **units** (with a batch of inputs): units dead (a ReLU that is 0 on every sample) or saturated
  (tanh, sigmoid) at init, from the ``signal`` probe; and, always, groups of identical units in each
  Linear/Conv layer, from the ``symmetry`` probe.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import torch
from torch import nn

from initlab.models.roles import QKV, role_of
from initlab.models.weights import is_transposed_linear
from initlab.probes.signal import SignalProbe
from initlab.probes.symmetry import SymmetryProbe

Inputs = torch.Tensor | tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class Finding:
    """One thing the audit flags: its ``kind`` (copies, copy, packed-qkv, dead, saturated, identical),
    ``where`` (a module or parameter name) and a sentence saying what and why."""

    kind: str
    where: str
    message: str


def _fingerprint(tensor: torch.Tensor) -> tuple:
    data = tensor.detach().double().flatten()
    return (tuple(tensor.shape), data.sum().item(), (data * data).sum().item(), data[0].item())


def tensor_copies(model: nn.Module) -> dict[str, str]:
    """``{name: name of the first parameter it is an exact copy of}``; constant tensors left out."""
    seen: dict[tuple, list[tuple[str, torch.Tensor]]] = defaultdict(list)
    copies = {}
    for name, param in model.named_parameters():
        if _constant(param):
            continue
        data = param.detach()
        bucket = seen[_fingerprint(data)]
        original = next((other for other, t in bucket if torch.equal(t, data)), None)
        if original is not None:
            copies[name] = original
        else:
            bucket.append((name, data))
    return copies


def _indices(indices: list[int]) -> str:
    if len(indices) > 1 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"layers {indices[0]}–{indices[-1]}"
    return ("layers " if len(indices) > 1 else "layer ") + ", ".join(map(str, indices))


def copy_findings(model: nn.Module, copies: dict[str, str]) -> list[Finding]:
    """Layers of a container that are copies of its layer 0, then every other copied tensor."""
    findings, explained = [], set()
    for container_name, container in model.named_modules():
        children = list(container.named_children())
        if len(children) < 2 or not all(name.isdigit() for name, _ in children):
            continue
        prefix = f"{container_name}." if container_name else ""
        first = f"{prefix}{children[0][0]}."
        copied = []
        for child_name, child in children[1:]:
            here = f"{prefix}{child_name}."
            varying = [
                here + n for n, p in child.named_parameters() if here + n in copies or not _constant(p)
            ]
            if varying and all(copies.get(n) == first + n[len(here) :] for n in varying):
                copied.append(int(child_name))
                explained.update(varying)
        if copied:
            verb = "are copies" if len(copied) > 1 else "is a copy"
            findings.append(
                Finding(
                    "copies",
                    container_name,
                    f"{_indices(copied)} of {container_name!r} {verb} of layer 0: every parameter identical, "
                    "so they start as one layer (nn.TransformerEncoder deep-copies its layer: PyTorch issue "
                    "72253); re-initialise each layer",
                )
            )
    for name, original in copies.items():
        if name not in explained:
            findings.append(Finding("copy", name, f"{name} is an exact copy of {original}"))
    return findings


def _constant(tensor: torch.Tensor) -> bool:
    data = tensor.detach()
    return data.numel() < 2 or bool((data == data.flatten()[0]).all())


def packed_qkv_findings(model: nn.Module) -> list[Finding]:
    """Packed q/k/v matrices whose std is Xavier's on the packed shape (fan-out 3E), not per matrix."""
    findings = []
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention) and module.in_proj_weight is not None:
            where, weight = f"{name}.in_proj_weight", module.in_proj_weight
        elif role_of(module) == QKV:
            where = f"{name}.weight"
            weight = module.weight.T if is_transposed_linear(module) else module.weight
        else:
            continue
        rows, width = weight.shape[0], weight.shape[1]
        std = weight.detach().double().std().item()
        packed, separate = math.sqrt(2 / (rows + width)), math.sqrt(2 / (rows // 3 + width))
        if abs(std / packed - 1) <= 6 / math.sqrt(2 * weight.numel()):
            findings.append(
                Finding(
                    "packed-qkv",
                    where,
                    f"{where} packs q, k, v ({rows}×{width}): its std {std:.4g} is Xavier's on the packed "
                    f"matrix (fan-out {rows}: {packed:.4g}), 1/√2 of three separate matrices' "
                    f"({separate:.4g}) (PyTorch issue 166378)",
                )
            )
    return findings


def unit_findings(model: nn.Module, inputs: Inputs | None) -> list[Finding]:
    """Dead and saturated units on ``inputs`` (signal probe); groups of identical units (symmetry probe)."""
    findings = []
    if inputs is not None:
        args = inputs if isinstance(inputs, tuple) else (inputs,)
        probe = SignalProbe().attach(model)
        try:
            with torch.no_grad():
                model(*args)
            rows = probe.record(0)
        finally:
            probe.detach()
        for row in rows:
            if row.name in ("dead_fraction", "saturated_fraction") and row.value > 0:
                kind = row.name.removesuffix("_fraction")
                findings.append(
                    Finding(
                        kind, row.layer, f"{row.layer}: {row.value:.0%} of its units are {kind} on the batch"
                    )
                )
    symmetry = SymmetryProbe(rank=False).attach(model)
    symmetry.record(0)
    symmetry.detach()
    for layer, verdict in symmetry.verdicts.items():
        if verdict.largest_group > 1:
            findings.append(
                Finding(
                    "identical",
                    layer,
                    f"{layer}: {verdict.grouped_fraction:.0%} of its {verdict.units} units are in groups of "
                    f"identical units (largest: {verdict.largest_group})",
                )
            )
    return findings
