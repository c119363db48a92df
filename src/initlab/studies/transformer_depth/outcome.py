"""Did a set of runs train? The per-run rule every training claim of the transformer-depth study uses.

A run *trains* when it did not diverge (its loss stayed finite), its final validation bpc is at most
:data:`TRAINED_BPC` (half a bit under the unigram entropy of the training text, 4.80 bits per
character: it learned more than letter frequencies), and it is not *clearly worse* than pre-LN at the
same depth: at most :data:`WORSE_BY` bits above pre-LN's mean final bpc. A set of seeds *trains* when
every seed trains, *fails* when none does, and is *mixed* otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from initlab.studies.transformer_depth.facts import RunFacts

#: The unigram entropy of shakespeare-char's training text (bits per character; README, "Language
#: models"): a model that only learned letter frequencies scores this.
UNIGRAM_BPC = 4.80
#: Trained: a final validation bpc half a bit under the unigram entropy or lower.
TRAINED_BPC = UNIGRAM_BPC - 0.5
#: "Clearly worse": a final validation bpc this many bits above pre-LN's mean at the same depth.
WORSE_BY = 0.5

Outcome = Literal["trains", "fails", "mixed", "no runs"]


def mean_bpc(runs: Sequence[RunFacts]) -> float:
    """The mean final validation bpc (∞ if any run diverged, NaN for no runs)."""
    return float(np.mean([r.final_bpc for r in runs])) if runs else math.nan


def trains(run: RunFacts, reference: float) -> bool:
    """Whether ``run`` trained against pre-LN's mean final bpc ``reference`` at its depth (NaN: no
    pre-LN reference, judged against :data:`TRAINED_BPC` alone)."""
    bound = TRAINED_BPC if math.isnan(reference) else min(TRAINED_BPC, reference + WORSE_BY)
    return not run.diverged and run.final_bpc <= bound


def outcome(runs: Sequence[RunFacts], reference: float) -> Outcome:
    """``trains`` when every seed trains, ``fails`` when none does, else ``mixed``."""
    if not runs:
        return "no runs"
    ok = [trains(r, reference) for r in runs]
    return "trains" if all(ok) else "fails" if not any(ok) else "mixed"
