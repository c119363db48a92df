"""The zero-module study's prose: the answer to the seed question, each sentence chosen by a verdict
and filled with the stored numbers."""

from __future__ import annotations

from initlab.report import Claim
from initlab.studies.zero_module.grid import WATCHED_STEPS


def _get(claims: dict[str, Claim], name: str) -> Claim | None:
    return claims.get(name)


def _n(claim: Claim, key: str) -> str:
    value = claim.numbers.get(key)
    return "?" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def symmetry_answer(claims: dict[str, Claim]) -> list[str]:
    """How zero_module escapes the symmetry of zero init (claims 1 and 2)."""
    out = []
    identity, separation = _get(claims, "identity-at-init"), _get(claims, "no-permanent-symmetry")
    if identity is not None:
        if identity.verdict == "holds":
            out.append(
                "zero_module makes every ResBlock and attention block of the U-Net the identity and its "
                "output "
                f"exactly zero at init: in all {_n(identity, 'runs')} runs the "
                f"{_n(identity, 'zeroed layers per run')} "
                "zeroed layers were zero matrices, and the step-0 evaluation loss equalled that of a zero "
                "output "
                f"({_n(identity, 'zero-output loss')}) to the last bit."
            )
        elif identity.verdict == "fails":
            out.append(
                "The stored init does not show zero_module's zeros: "
                f"{_n(identity, 'zeroed layers not zero')} zeroed layers were not zero, or the step-0 loss "
                "differed from a zero output's."
            )
    if separation is not None:
        if separation.verdict == "holds":
            out.append(
                "Yet it has no symmetry problem: each zeroed conv's channels do start as one group (all "
                "zero), "
                "but the symmetry probe finds none of those groups permanent, because the zeroed conv's "
                "output is added to a skip path whose channels differ and its input channels differ too; "
                f"all {_n(separation, 'layers')} zeroed layers (over runs) had distinct channels by step "
                f"{WATCHED_STEPS - 1}, after their first update."
            )
        elif separation.verdict == "fails":
            numbers = separation.numbers
            grouped = int(numbers["layers"]) - int(numbers["apart by the last watched step"])
            out.append(
                f"The symmetry probe found a permanent group in {_n(separation, 'permanent at init')} zeroed "
                f"layers, or {grouped} zeroed layers were still grouped at step {WATCHED_STEPS - 1}: "
                "zero_module's zeros did leave a symmetry here."
            )
    return out


def order_answer(claims: dict[str, Claim], mismatches: dict[str, tuple[int, int | None]]) -> list[str]:
    """The update order (claim 3), with where it differs from the prediction."""
    order = _get(claims, "update-order")
    if order is None or order.verdict == "inconclusive":
        return []
    words = (
        "The update order is as predicted: only the output conv (its weight and bias) gets a gradient at "
        "step 0; the zeroed layers and the main stream at step 1; the branches' insides and the time "
        "embedding at step 2"
    )
    if order.verdict == "holds":
        late = int(order.numbers["first change off the prediction"])
        tail = (
            f". {late} parameters got their first non-zero gradient on time but changed later: conv biases "
            "followed by GroupNorm, whose gradient is zero up to rounding (the norm removes a per-channel "
            "constant), so Adam's step on them is below a float32 ulp."
            if late
            else "."
        )
        return [words + tail]
    shown = ", ".join(
        f"{p} ({a} predicted, {b if b is not None else 'never'} seen)"
        for p, (a, b) in list(mismatches.items())[:6]
    )
    return [f"The update order differs from the prediction for {len(mismatches)} parameters: {shown}."]


def constant_answer(claims: dict[str, Claim]) -> list[str]:
    """The forum answer's case, constant filters (claim 4)."""
    held = [c for name, c in claims.items() if name.startswith("constant-one-group/")]
    broken = [c for name, c in claims.items() if name.startswith("constant-broken/")]
    out = []
    if held and all(c.verdict == "holds" for c in held):
        optimizers = " and ".join(c.name.split("/")[1] for c in held)
        out.append(
            "The forum answer's reason, conv locality, is not what breaks the symmetry: with constant "
            "filters "
            "(identical output channels, equal biases, no dropout) the channels feeding every zeroed conv "
            "stayed "
            f"one group of identical channels to the end under {optimizers}, with effective rank 1, although "
            "locality makes every spatial position see different pixels. Locality separates positions, not "
            "channels."
        )
    elif held and any(c.verdict == "fails" for c in held):
        out.append(
            "With constant filters the channels did not stay one group in every run: here something else "
            "separated them."
        )
    if broken:
        what = " and ".join(c.name.split("/")[1] for c in broken if c.verdict == "holds")
        if what:
            out.append(
                f"Random per-channel differences do break it: with {what} the channels had separated by the "
                "end."
            )
    width = _get(claims, "constant-as-width-1")
    if width is not None and width.verdict == "inconclusive":
        out.append(
            f"Its final loss ({width.numbers['constant loss']:.4g}) and that of a U-Net whose ResBlock "
            f"branches are one channel wide ({width.numbers['width-1 loss']:.4g}) could not be told apart "
            "with these seeds."
        )
    elif width is not None:
        out.append(
            "A constant-filter U-Net is, in effect, one whose ResBlock branches are one channel wide: "
            + (
                "its loss was no better than such a model's."
                if width.verdict == "holds"
                else "yet here its loss was better than a width-1 model's by more than the margin."
            )
        )
    return out


def double_answer(claims: dict[str, Claim]) -> list[str]:
    double = _get(claims, "double-zero-stays-zero")
    if double is None or double.verdict == "inconclusive":
        return []
    if double.verdict == "holds":
        return [
            "Two zero modules in a row (ControlNet's failure case) do leave a permanent dead end: the second "
            "zero layer's input is exactly zero, so its weight gets no gradient, and the first gets none "
            f"through the second's zero weight; no zeroed weight moved in {_n(double, 'steps')} steps."
        ]
    return [
        f"With two zero modules in a row, {_n(double, 'weights that got a gradient')} zeroed weights did "
        "move."
    ]


def training_answer(claims: dict[str, Claim]) -> list[str]:
    """Whether zero_module helps, hurts or ties on the loss and the Fréchet distance (claim 6)."""
    out = []
    for name, label in (("training/loss", "evaluation loss"), ("training/frechet", "Fréchet distance")):
        c = _get(claims, name)
        if c is None:
            continue
        low, high = c.numbers["ci low"], c.numbers["ci high"]
        if c.verdict == "holds":
            word = "ties with"
        elif high < 0:
            word = "beats"  # lower is better for both
        elif low > 0:
            word = "loses to"
        else:
            word = "cannot be told apart, with these seeds, from"
        out.append(
            f"On the {label} at equal steps, zero-module ({c.numbers['zero-module']:.4g}) {word} PyTorch's "
            "default "
            f"({c.numbers['default']:.4g}); 95% CI of the difference [{low:.3g}, {high:.3g}], "
            f"{int(c.numbers['seeds'])} seeds."
        )
    return out
