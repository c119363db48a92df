"""The signal-depth report's sentences that state a conclusion, chosen from the claims' verdicts."""

from __future__ import annotations

from collections.abc import Sequence

from initlab.report import Claim


def _inits(claim: Claim, kind: str) -> str:
    """``he-normal > 50, orthogonal 20``: the failure depth of each init of ``kind`` (survives | vanishes)."""
    suffix = f" ({kind})"
    named = [(k.removesuffix(suffix), v) for k, v in claim.numbers.items() if k.endswith(suffix)]
    return ", ".join(f"{init} {depth}" for init, depth in named) or "none"


def failure_text(claims: Sequence[Claim]) -> str:
    """Per activation, whether the inits whose signal survives start failing deeper, from its claim."""
    sentences = []
    for claim in claims:
        if not claim.name.startswith("fails-deeper-when-signal-survives/"):
            continue
        activation = claim.name.rsplit("/", 1)[1]
        depths = (
            f"failure depth where the signal survives: {_inits(claim, 'survives')}; "
            f"where it vanishes: {_inits(claim, 'vanishes')}"
        )
        if claim.verdict == "holds":
            sentences.append(f"{activation}: the surviving signal trains deeper ({depths}).")
        elif claim.verdict == "fails":
            sentences.append(f"{activation}: a surviving signal does not train deeper here ({depths}).")
        else:
            sentences.append(f"{activation}: nothing to compare ({depths}).")
    return " ".join(sentences)
