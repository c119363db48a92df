"""The bias-scale report's prose: the measured accuracies beside the seed study's, and per setting a
conclusion chosen from the claims' verdicts (never a fixed answer).

The seed study (c-schicho/ZeroInitializationSymmetry) reports that "large initial biases caused
instability during training, whereas small biases did not": at bias factor 100 its MNIST FNN reached
about .86 with a jagged test-accuracy curve, and its MNIST CNN stayed at .10.
"""

from __future__ import annotations

from collections.abc import Mapping

from initlab.report import Claim, Text, Verdict
from initlab.studies.base import Preset
from initlab.studies.bias_scale.claims import SEED_STUDY_AT_LARGE
from initlab.studies.bias_scale.grid import LARGE_SCALE, REFERENCE_SCALE
from initlab.studies.bias_scale.results import Results
from initlab.studies.verdicts import mean_interval

QUICK = " Compare like with like: the quick preset trains on subsets for fewer epochs."
#: Each part of the instability claim in words, by verdict.
PARTS: dict[str, dict[Verdict, str]] = {
    "lower-accuracy": {
        "holds": "a lower final accuracy (or divergence)",
        "fails": "a final accuracy no lower than at scale 1",
        "inconclusive": "a final accuracy whose difference from scale 1's these runs do not settle",
    },
    "more-jagged": {
        "holds": "a more jagged curve",
        "fails": "a curve no more jagged than at scale 1",
        "inconclusive": "a jaggedness whose difference from scale 1's these runs do not settle",
    },
    "more-variable": {
        "holds": "a larger across-seed variance",
        "fails": "an across-seed variance no larger than at scale 1",
        "inconclusive": "an across-seed variance whose ratio to scale 1's these runs do not settle",
    },
}
#: Where scale 100 ends, by the outcome claim's kind: what the claim says of every run.
OUTCOMES = {
    "still-trains": "every run still trains far above chance",
    "stuck-at-chance": "every run ends at chance",
}
UNSTABLE: dict[Verdict, str] = {
    "holds": "large biases are unstable here, as the seed study found",
    "fails": "large biases are not unstable here by this test, unlike what the seed study found",
    "inconclusive": "these runs do not settle whether large biases are unstable",
}


def conclusion(setting: str, model: str, claims: Mapping[str, Claim]) -> str | None:
    """One setting's conclusion from its claims' verdicts (None: the setting has no claims)."""
    tag = setting.replace(" ", "/")
    unstable = claims.get(f"unstable/{tag}")
    if unstable is None:
        return None
    parts = [PARTS[name][claims[f"{name}/{tag}"].verdict] for name in PARTS]
    text = (
        f"{setting}: {UNSTABLE[unstable.verdict]}: at scale {LARGE_SCALE:g}, {parts[0]}, {parts[1]} and "
        f"{parts[2]}."
    )
    outcome = claims.get(f"still-trains/{tag}") or claims.get(f"stuck-at-chance/{tag}")
    if outcome is not None:
        text += f" Where scale {LARGE_SCALE:g} ends: {_outcome(outcome, model)}."
    return text


def _outcome(claim: Claim, model: str) -> str:
    """Where scale 100 ends, from the outcome claim, beside the seed study's result for ``model``."""
    phrase = OUTCOMES[claim.name.split("/")[0]]
    seed = SEED_STUDY_AT_LARGE.get(model)
    if claim.verdict == "inconclusive":
        return "no run finished there"
    if seed is None:
        return phrase if claim.verdict == "holds" else f"not {phrase}"
    if claim.verdict == "holds":
        return f"{phrase}, as the seed study's did (about {seed:.2f})"
    return f"unlike the seed study's (about {seed:.2f}), not {phrase}"


def seed_study_text(results: Results, claims: Mapping[str, Claim], preset: Preset) -> list[Text]:
    """The measured accuracy at scales 1 and 100 next to the seed study's at factor 100, then each
    setting's conclusion."""
    parts = []
    for setting, by_scale in results.items():
        ref, large = by_scale.get(REFERENCE_SCALE), by_scale.get(LARGE_SCALE)
        if ref is None or large is None:
            continue
        seed = SEED_STUDY_AT_LARGE.get(large.condition.config["model"])
        runs = ", ".join(f"{a:.3f}" for a in large.accuracies) or "none finished"
        parts.append(
            f"{setting}: scale 1 ends at {mean_interval(ref.accuracies)[0]:.3f}, scale 100 at "
            f"{mean_interval(large.accuracies)[0]:.3f} (runs: {runs}; {large.diverged} diverged)"
            + (f", the seed study at factor 100: about {seed:.2f}" if seed is not None else "")
        )
    measured = (
        "The seed study found bias factor 100 unstable: its MNIST FNN reached about .86 with a jagged "
        "curve, its MNIST CNN stayed at .10. Measured here (final test accuracy, mean over seeds): "
        + ("; ".join(parts) if parts else "no setting ran both scale 1 and scale 100")
        + "."
        + (QUICK if preset == "quick" else "")
    )
    conclusions = [
        conclusion(setting, by_scale[LARGE_SCALE].condition.config["model"], claims)
        for setting, by_scale in results.items()
        if LARGE_SCALE in by_scale
    ]
    return [Text(measured), *(Text(t) for t in conclusions if t is not None)]
