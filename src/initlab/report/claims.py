"""A claim a study checks, with the verdict and the numbers it was computed from.

Studies compute verdicts from stored results; the report only renders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from initlab.errors import one_of

Verdict = Literal["holds", "fails", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True)
class Claim:
    """One checked claim, e.g. ``Claim("zeros-majority", "zeros stays at the majority class", "holds",
    {"accuracy": 0.1135, "majority": 0.1135})``.

    ``numbers`` holds the values the verdict rests on (shown in order, floats with 4 significant
    digits); ``note`` says anything that qualifies the verdict (e.g. "quick preset: 2 seeds").
    """

    name: str
    statement: str
    verdict: Verdict
    numbers: Mapping[str, float | int | str] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise one_of(f"verdict of claim {self.name!r}", self.verdict, VERDICTS)
