"""The transformer-depth report's sentences, each chosen from the claims' verdicts and numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping

from initlab.report import Claim

Claims = Mapping[str, Claim]


def _num(value: float | int | str, spec: str = ".2f") -> str:
    return format(value, spec) if isinstance(value, float) and math.isfinite(value) else str(value)


def post_ln_text(claims: Claims) -> str:
    """Claims 1 and 2: where post-LN fails and whether warm-up rescues it."""
    c, w = claims.get("post-ln-fails-with-depth"), claims.get("warmup-rescues-post-ln")
    if c is None:
        return "No post-LN or pre-LN run finished."
    n = c.numbers
    first = {
        "holds": f"Post-LN without warm-up fails from depth {n['onset depth']} on while pre-LN trains at "
        f"every depth (post-LN: {n['post-LN']}; pre-LN: {n['pre-LN']})",
        "fails": f"Xiong et al.'s effect does not show here: post-LN without warm-up {n['post-LN']}, pre-LN "
        f"{n['pre-LN']}",
        "inconclusive": f"Whether post-LN fails from some depth on is undecided (post-LN: {n['post-LN']}; "
        f"pre-LN: {n['pre-LN']})",
    }[c.verdict]
    if w is None:
        return first + "."
    second = {
        "holds": f"warm-up rescues it at every failing depth ({w.numbers['rescued']})",
        "fails": f"warm-up does not rescue it at any failing depth ({w.numbers['not rescued']})",
        "inconclusive": f"warm-up rescues it at depths {w.numbers['rescued']} and not at "
        f"{w.numbers['not rescued']}"
        if w.numbers["failing depths"] != "none"
        else "with nothing failing, warm-up has nothing to rescue",
    }[w.verdict]
    return f"{first}; {second}."


def scheme_text(claims: Claims) -> str:
    """Claim 3: which schemes train without warm-up at the deepest depth."""
    mine = [c for name, c in claims.items() if name.startswith("trains-without-warmup/")]
    if not mine:
        return "No scheme ran at the deepest depth."
    parts = {
        verdict: [
            f"{c.name.split('/')[1]} ({_num(c.numbers['val bpc'])})" for c in mine if c.verdict == verdict
        ]
        for verdict in ("holds", "fails", "inconclusive")
    }
    words = [f"train without warm-up at the deepest depth: {', '.join(parts['holds']) or 'none'}"]
    if parts["fails"]:
        words.append(f"fail: {', '.join(parts['fails'])}")
    if parts["inconclusive"]:
        words.append(f"some seeds only: {', '.join(parts['inconclusive'])}")
    reference = _num(mine[0].numbers["pre-LN val bpc"])
    return f"Of the schemes, these {'; '.join(words)} (final val bpc; pre-LN {reference})."


def amplification_text(claims: Claims) -> str:
    """Claim 4: the output change's growth with depth."""
    post = claims.get("amplification/post-ln")
    if post is None:
        return "No run measured the output change at init."
    n = post.numbers
    interval = f"[{_num(n['ci low'])}, {_num(n['ci high'])}]"
    head = {
        "holds": f"Post-LN's output change at init grows about linearly with depth (log-log slope "
        f"{_num(n['slope'])}, 95% interval {interval})",
        "fails": f"Post-LN's output change at init does not grow linearly with depth (log-log slope "
        f"{_num(n['slope'])}, 95% interval {interval})",
        "inconclusive": f"How post-LN's output change grows with depth is undecided (log-log slope "
        f"{_num(n['slope'])}, 95% interval {interval})",
    }[post.verdict]
    pace = {"holds": "much slower", "fails": "not much slower", "inconclusive": "undecided"}
    others = [
        f"{name.split('/')[1]} slope {_num(c.numbers['slope'])} ({pace[c.verdict]})"
        for name, c in claims.items()
        if name.startswith("amplification/") and name != "amplification/post-ln"
    ]
    updates = [
        f"{name.split('/')[1]} {_num(c.numbers['post-LN / it'], '.1f')}× less"
        if c.verdict == "holds"
        else f"{name.split('/')[1]} not less ({_num(c.numbers['post-LN / it'], '.2f')}×)"
        if c.verdict == "fails"
        else f"{name.split('/')[1]} undecided ({_num(c.numbers['post-LN / it'], '.2f')}×)"
        for name, c in claims.items()
        if name.startswith("first-update/")
    ]
    tail = (
        f" The first Adam update moves the output, against post-LN's at the deepest depth: "
        f"{', '.join(updates)}."
        if updates
        else ""
    )
    return head + (f"; {', '.join(others)}." if others else ".") + tail


def mismatch_text(claims: Claims) -> str:
    """Claim 5: pre-LN's gradient mismatch and NormFormer's."""
    pre, normformer = claims.get("grad-mismatch/pre-ln"), claims.get("grad-mismatch/normformer")
    if pre is None:
        return "No pre-LN run recorded its gradient profile at init."
    n = pre.numbers
    interval = f"[{_num(n['ci low'])}, {_num(n['ci high'])}]"
    head = {
        "holds": f"Pre-LN's first layer gets {_num(n['ratio'])}× the gradient norm of its last at init "
        f"(95% interval {interval})",
        "fails": f"Pre-LN's first layer gets less gradient than its last at init ({_num(n['ratio'])}×, "
        f"95% interval {interval})",
        "inconclusive": f"Pre-LN's gradient mismatch at init is undecided ({_num(n['ratio'])}×, 95% interval "
        f"{interval})",
    }[pre.verdict]
    if normformer is None:
        return head + "."
    tail = {
        "holds": "NormFormer reduces it",
        "fails": "NormFormer increases it",
        "inconclusive": "NormFormer's effect on it is undecided",
    }[normformer.verdict]
    return f"{head}; {tail} ({_num(normformer.numbers['ratio'])}×)."


def _steps(value: float | int | str) -> str:
    """Steps to the target in words: ``125 steps`` or ``never``."""
    return f"{_num(value, '.0f')} steps" if isinstance(value, float | int) else str(value)


def rezero_text(claims: Claims) -> str:
    """Claim 6: ReZero's steps to the target against pre-LN and post-LN."""
    mine = [c for name, c in claims.items() if name.startswith("rezero-faster/")]
    if not mine:
        return "ReZero did not run."
    parts = []
    for c in mine:
        other = c.name.split("/")[1]
        word = {"holds": "faster than", "fails": "not faster than", "inconclusive": "undecided against"}[
            c.verdict
        ]
        rezero, theirs = _steps(c.numbers["ReZero steps"]), _steps(c.numbers[f"{other} steps"])
        parts.append(f"{word} {other} (ReZero {rezero}, {other} {theirs})")
    return f"To the target bpc, ReZero is {'; '.join(parts)}."


def clones_text(claims: Claims) -> str:
    """Claim 7: nn.TransformerEncoder's copies."""
    same, apart = claims.get("clones-identical-at-init"), claims.get("clones-separate")
    if same is None or apart is None:
        return "No nn.TransformerEncoder run finished."
    first = (
        "nn.TransformerEncoder's layers start as exact copies"
        if same.verdict == "holds"
        else "nn.TransformerEncoder's layers do not start as exact copies here"
    )
    step = apart.numbers["first step apart"]
    second = {
        "holds": f"they separate in training (no longer copies from step {_num(step, '.0f')}, relative "
        f"norm spread {_num(apart.numbers['final spread'], '.3f')} at the end)",
        "fails": "they stay identical through training",
        "inconclusive": "whether they separate is undecided",
    }[apart.verdict]
    cost = claims.get("clones-cost")
    third = ""
    if cost is not None:
        diff = _num(cost.numbers["difference"], "+.3f")
        third = {
            "holds": f"; starting from copies costs {diff} bpc against re-initialised layers",
            "fails": f"; starting from copies ends lower in bpc ({diff}) than re-initialised layers",
            "inconclusive": f"; what the copies cost in bpc is undecided ({diff})",
        }[cost.verdict]
    return f"{first}; {second}{third}."


def gpt2_text(claims: Claims) -> str:
    """Claim 8: GPT-2's residual scaling against plain N(0, 0.02²)."""
    c = claims.get("gpt2-scaling-matters")
    if c is None:
        return "GPT-2's scaling was not compared."
    n = c.numbers
    bpc = f"{_num(n['GPT-2 bpc'])} against {_num(n['N(0, 0.02²) bpc'])}"
    return {
        "holds": f"GPT-2's 1/√(2L) residual scaling matters at this depth: {bpc} bpc.",
        "fails": f"GPT-2's 1/√(2L) residual scaling ends worse than plain N(0, 0.02²): {bpc} bpc.",
        "inconclusive": f"GPT-2's 1/√(2L) residual scaling makes no clear difference at this depth ({bpc} "
        "bpc).",
    }[c.verdict]


def answer_text(claims: Claims) -> list[str]:
    """The answers in words, one sentence per question, in the issue's order."""
    return [
        post_ln_text(claims),
        scheme_text(claims),
        amplification_text(claims),
        mismatch_text(claims),
        rezero_text(claims),
        clones_text(claims),
        gpt2_text(claims),
    ]
