"""``bias-scale``: zero weights with random normal biases b ~ N(0, s²), at scales s = 0.01 … 100.

The seed study (c-schicho/ZeroInitializationSymmetry) reports that "large initial biases caused
instability during training, whereas small biases did not": with bias factor 100 its MNIST FNN
reached about .86 with a jagged test-accuracy curve, and its MNIST CNN stayed at .10 (chance).
This study sweeps the scale over 0.01, 0.1, 1, 10 and 100 on the seed study's MNIST FNN and MNIST
CNN (Adam 1e-3, batch 128, a validation split off the training set) and measures, per scale:

- the final test accuracy (mean and 95% Student-t interval over seeds) and its across-seed variance;
- the runs that diverged (their loss turned non-finite; they are counted, never averaged);
- the **jaggedness** J of each run's per-epoch test-accuracy curve: the accuracy lost to setbacks
  (:mod:`.results`), with the number of drops beside it.

The claims compare scale 100 with scale 1 (:mod:`.claims`). The package, one job per module:
:mod:`.grid` (the presets' sweeps), :mod:`.results` (what the store says per scale), :mod:`.claims`
(the verdicts), :mod:`.text` (the prose, chosen from the verdicts), :mod:`.figures`, :mod:`.analysis`
(the report's sections and table).
"""

from initlab.studies.base import Study, register_study
from initlab.studies.bias_scale.analysis import analyze
from initlab.studies.bias_scale.claims import outcome_claim
from initlab.studies.bias_scale.grid import sweeps
from initlab.studies.bias_scale.results import ScaleResult, drops, jaggedness

STUDY = register_study(
    Study(
        name="bias-scale",
        title="How large may the random biases of zero-weight init be?",
        question="Are large random biases (zero weights, b ~ N(0, s²), s up to 100) unstable: lower "
        "accuracy, jagged curves, more variance across seeds?",
        sweeps=sweeps,
        analyze=analyze,
    )
)

__all__ = ["STUDY", "ScaleResult", "analyze", "drops", "jaggedness", "outcome_claim", "sweeps"]
