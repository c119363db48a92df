"""``initlab.audit(model, scheme=None)``: what init each parameter actually has; ``assert_init``.

An audit is tidy rows (one per parameter: role, shape, fans, mean, std, min, max, zero/constant,
and with a scheme the std its formula expects and the ratio) plus findings: copied layers, packed
q/k/v matrices, dead, saturated and identical units. ``assert_init(model, "gpt2")`` is a pytest
helper that fails when a parameter does not have the named scheme's init, the failure mode of
Hugging Face transformers issue 47458 (GPT-2's ``c_proj`` scaling 0.02/√(2·n_layer) silently not
applied).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from typing import Any

from torch import nn

from initlab.auditing.findings import (
    Finding,
    Inputs,
    copy_findings,
    packed_qkv_findings,
    tensor_copies,
    unit_findings,
)
from initlab.auditing.params import SIGMAS, ParamRow, check, expected_parameters, parameter_rows
from initlab.frames import Tidy, html_table, row_dict


@dataclass(frozen=True)
class Audit(Tidy):
    """The audit of one model: ``rows`` (one :class:`ParamRow` per parameter) and ``findings``.

    ``scheme`` is the scheme the rows were checked against (None: none); ``missing`` names the
    parameters the scheme adds (a ReZero gain) that the model does not have. ``failures`` are the rows
    that do not match the scheme. ``to_frame()`` gives the rows as a pandas DataFrame.
    """

    rows: list[ParamRow]
    findings: list[Finding] = field(default_factory=list)
    scheme: str | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[ParamRow]:
        return [row for row in self.rows if row.ok is False]

    def tidy_rows(self) -> list[dict[str, Any]]:
        return [row_dict(row) for row in self.rows]

    def _repr_html_(self) -> str:
        findings = "".join(f"<li>{html.escape(f'{f.kind}: {f.message}')}</li>" for f in self.findings)
        return (f"<ul>{findings}</ul>" if findings else "") + html_table(self.tidy_rows())


def audit(
    model: nn.Module,
    scheme: str | None = None,
    *,
    inputs: Inputs | None = None,
    sigmas: float = SIGMAS,
    **params: Any,
) -> Audit:
    """Audit ``model``'s parameters as they are now (the model is not changed).

    With ``scheme`` (and its ``params``), each row gets the std the scheme gives that parameter and
    whether the parameter matches it (see :mod:`initlab.auditing.params`). With ``inputs`` (a batch, or
    a tuple of the forward's arguments), dead and saturated units on that batch are reported too.
    """
    rows = parameter_rows(model)
    copies = tensor_copies(model)
    rows = [replace(r, note=f"copy of {copies[r.name]}") if r.name in copies else r for r in rows]
    findings = copy_findings(model, copies) + packed_qkv_findings(model) + unit_findings(model, inputs)
    packed = {f.where for f in findings if f.kind == "packed-qkv"}
    rows = [replace(r, note=(r.note + " packed q/k/v").strip()) if r.name in packed else r for r in rows]
    missing: list[str] = []
    if scheme is not None:
        expected = expected_parameters(model, scheme, **params)
        own = dict(model.named_parameters())
        rows = [check(r, own[r.name], expected[r.name], sigmas) if r.name in expected else r for r in rows]
        missing = [name for name in expected if name not in own]
    return Audit(rows, findings, scheme, missing)


def assert_init(model: nn.Module, scheme: str, *, sigmas: float = SIGMAS, **params: Any) -> Audit:
    """Assert that every parameter of ``model`` has the init ``scheme`` gives it; return the audit.

    Deterministic parameters (zeros, ones) must match exactly; random ones in std and mean within
    ``sigmas`` standard errors of the sample size. Raises AssertionError naming each parameter that
    does not, with its std, the expected std and the ratio.
    """
    result = audit(model, scheme, sigmas=sigmas, **params)
    problems = [f"{name}: missing (the scheme adds it)" for name in result.missing] + [
        f"{r.name} ({r.role or 'no role'}): std {r.std:.4g}, expected {r.expected_std:.4g} "
        f"(ratio {r.ratio:.3g})"
        for r in result.failures
    ]
    if problems:
        raise AssertionError(
            f"{len(problems)} parameters do not have {scheme!r}'s init: " + "; ".join(problems[:8])
        )
    return result
