"""The residual-zero report's prose: every sentence that states a conclusion is chosen from a claim's
verdict or from the stored facts, and carries the numbers it rests on.

The question is Cross Validated 582809 (why Fixup and ``zero_module`` escape the symmetry of zero
init). The rule the answer rests on, when two units stay identical forever, is the one the
``symmetry`` probe checks (:class:`initlab.probes.symmetry.SymmetryProbe`); the seed study
(c-schicho/ZeroInitializationSymmetry) measured all-zero init at the majority class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from initlab.report import Verdict
from initlab.studies.residual_zero.claims import COLLAPSE_GAP
from initlab.studies.residual_zero.facts import Facts, GroupHistory, SettingFacts
from initlab.studies.residual_zero.grid import ZERO_BRANCH

#: Layers (per seed) named one by one in a sentence; the rest are counted (the tables list them all).
NAMED = 4
#: The zero-branch schemes whose branch weights stay random: a zero scalar or BatchNorm γ ends each branch.
ZERO_SCALAR = {
    "rezero": "ReZero (a zero scalar gain per branch)",
    "skipinit": "SkipInit (a zero scalar gain per branch)",
    "zero-last-norm": "zero-γ (a zero BatchNorm scale at each branch's end)",
}
RULE = (
    "Two units stay identical forever only if everything that tells them apart is equal: their incoming "
    "weights and bias, their outgoing weights, and whatever is added to their outputs (the condition the "
    "symmetry probe checks; `initlab probes symmetry` states it)."
)


def number(value: float | None) -> str:
    """A value in prose: ``0.113``; ``—`` when there is none."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def gradients(step: float) -> str:
    """When the weights first get a gradient (the latest first-gradient step, ∞: some never did)."""
    if math.isnan(step):
        return "no update-order records"
    return (
        "some weight never gets a gradient"
        if step == math.inf
        else f"every weight has a gradient by step {step:g}"
    )


def fate(history: GroupHistory) -> str:
    """What the records show of one layer's largest group of identical units, in words."""
    h = history
    if h.grouped <= 1:
        if h.at_end > 1:
            return f"no identical units at init; {h.at_end} identical at step {h.last_step}, the last record"
        return "no identical units"
    if h.permanent > 1:
        split = h.split_step
        if split is None:
            return f"permanent group of {h.grouped} stays whole to step {h.last_step}, the last record"
        rank = " (the weight still has rank 1)" if h.rank_at_end <= 1 else ""
        return (
            f"permanent group of {h.grouped} splits by step {split} into {h.groups_at(split)}; "
            f"largest group {h.at_end} at step {h.last_step}, the last record{rank}"
        )
    if h.at_end > 1:
        return (
            f"group of {h.grouped} (not permanent) keeps {h.at_end} identical units to step {h.last_step}, "
            "the last record"
        )
    return f"group of {h.grouped} (not permanent) separated by step {h.separated_step}"


def _later(loose: Sequence[GroupHistory]) -> str:
    """``3 later (the last by step 9)``: the groups that separate after the first record after init
    (and before the last record); empty if none."""
    later = [h for h in loose if h.at_end == 1 and not h.separated_at_once]
    if not later:
        return ""
    return f"{len(later)} later (the last by step {max(h.separated_step or 0 for h in later)})"


def _listed(histories: Sequence[GroupHistory]) -> str:
    """``seed 1 layer3.0.branch.conv2: <fate>; …`` for the first ``NAMED``, then how many more."""
    named = "; ".join(f"seed {h.seed} {h.layer}: {fate(h)}" for h in histories[:NAMED])
    more = len(histories) - NAMED
    return named + (f"; and {more} more (table below)" if more > 0 else "")


def history_text(facts: Facts) -> str | None:
    """What happened over the steps to one condition's groups of identical units (None: it had none)."""
    loose, permanent = facts.loose_groups, facts.permanent_groups
    sentences = []
    if permanent:
        split = [h for h in permanent if h.split_step is not None]
        whole = len(permanent) - len(split)
        sentence = (
            f"{facts.setting}, {facts.name}: {whole} of {len(permanent)} permanent groups at init (layers "
            "counted per seed) stay whole to the last record"
        )
        sentences.append(sentence + (f"; though permanent at init, {_listed(split)}" if split else ""))
    if loose:
        persist = [h for h in loose if h.at_end > 1]
        first = [h for h in loose if h.separated_at_once]
        later = _later(loose)
        sentence = (
            f"{facts.setting}, {facts.name}: {len(loose)} layers (counted per seed) start with identical "
            f"units that are not a permanent group; {len(first)} are all different at the first record "
            "after init"
        )
        if later:
            sentence += f", {later}"
        if persist:
            sentence += (
                f", and {len(persist)} still hold identical units at the last record, contradicting "
                f"separation at the first step ({_listed(persist)})"
            )
        sentences.append(sentence)
    return ". ".join(sentences) + "." if sentences else None


def _zero_branch(settings: Sequence[SettingFacts]) -> list[tuple[SettingFacts, Facts]]:
    return [(s, s.conditions[n]) for s in settings for n in ZERO_BRANCH if n in s.conditions]


def short_answer(settings: Sequence[SettingFacts], verdicts: Mapping[str, Verdict]) -> list[str]:
    """The answer to the question over every ResNet setting, from the wakes-up and zeros-permanent
    verdicts and the zero layers' records."""
    everything = _zero_branch(settings)
    branch = [(s, f) for s, f in everything if f.symmetry or f.order]
    pending = ", ".join(f"{f.name} on {s.where}" for s, f in everything if not (f.symmetry or f.order))
    if not branch:
        return [f"No zero-branch scheme has a finished run yet ({pending})."] if pending else []
    wakes = {(s.tag, f.init): verdicts[f"wakes-up/{s.tag}/{f.init}"] for s, f in branch}
    failed = [(s, f) for s, f in branch if wakes[s.tag, f.init] == "fails"]
    unsure = [(s, f) for s, f in branch if wakes[s.tag, f.init] == "inconclusive"]
    zeros = [s for s in settings if verdicts.get(f"zeros-permanent/{s.tag}") == "holds"]
    if failed:
        lines = "; ".join(
            f"{f.name} on {s.where}: largest permanent group at init {f.worst('largest_permanent_at_init')}, "
            f"{gradients(f.latest_grad)}"
            for s, f in failed
        )
        first = (
            "Short answer, from these runs: zeroing the branch ends does not always escape the symmetry of "
            f"zero init. {lines}."
        )
    elif unsure:
        names = ", ".join(f"{f.name} on {s.where}" for s, f in unsure)
        first = f"These runs do not settle the question: no symmetry or update-order records of {names}."
    else:
        names = ", ".join(dict.fromkeys(f.name for _, f in branch))
        latest = max(f.latest_grad for _, f in branch)
        where = ", ".join(s.where for s in zeros)
        measured = (
            f"Every zero-branch scheme measured ({names}) starts without a permanent group of identical "
            f"units, and {gradients(latest)}"
        )
        first = (
            "Short answer, from these runs: zero weights are a problem only when the zeroed units are "
            f"interchangeable. {measured}, while all-zero init leaves every hidden layer one permanent group "
            f"({where})."
            if zeros
            else "Short answer, from these runs: zeroing the branch ends leaves no permanent symmetry. "
            f"{measured}."
        )
    if pending:
        first += f" No finished run yet of {pending}."
    return [p for p in (f"{first} {RULE}", _zero_layers(branch, verdicts), _zero_scalars(branch)) if p]


def _zero_layers(branch: Sequence[tuple[SettingFacts, Facts]], verdicts: Mapping[str, Verdict]) -> str:
    """Why a zero last layer's identical channels are no permanent group, and what the records show."""
    loose = [h for _, f in branch for h in f.loose_groups]
    if not loose:
        return ""
    text = (
        "A zero-initialized last conv of a residual branch has identical (zero) output channels (up to "
        f"{max(h.grouped for h in loose)} per layer here), but channel i of the branch is added to channel i "
        "of the skip path x, and the layers after the block read each channel of x + f(x) with different "
        "random weights, so the gradient reaching each output channel differs: the identical channels are "
        "not a permanent group."
    )
    persist = [h for h in loose if h.at_end > 1]
    first = [h for h in loose if h.separated_at_once]
    if len(first) == len(loose):
        text += (
            f" The records agree: in all {len(loose)} such layers (counted per seed), every channel differs "
            "from every other at the first record after init: the zero layer's rows get different updates "
            "at the first step."
        )
    else:
        later = _later(loose)
        parts = [f"{len(first)} are all different at the first record after init"]
        parts += [later] if later else []
        parts += (
            [f"{len(persist)} keep identical channels to the last record ({_listed(persist)})"]
            if persist
            else []
        )
        text += (
            f" The records qualify this: of {len(loose)} such layers (counted per seed), "
            f"{', '.join(parts[:-1])} and {parts[-1]}. Not permanent means gradient descent can separate "
            "the rows, not that it does at once."
        )
    fixup = [f for s, f in branch if f.init == "fixup" and verdicts[f"wakes-up/{s.tag}/fixup"] == "holds"]
    if fixup:
        latest = max(f.latest_grad for f in fixup)
        text += (
            " Fixup's zero classifier is no symmetry either: its units feed the loss, which treats each "
            f"class differently (Fixup: {gradients(latest)})."
        )
    return text


def _zero_scalars(branch: Sequence[tuple[SettingFacts, Facts]]) -> str:
    """What the zero-scalar schemes' records show: identical units at init or none."""
    scalar = [(s, f) for s, f in branch if f.init in ZERO_SCALAR]
    if not scalar:
        return ""
    schemes = list(dict.fromkeys(f.init for _, f in scalar))
    names = " and ".join(ZERO_SCALAR[n] for n in schemes) + (" leave" if len(schemes) > 1 else " leaves")
    grouped = [(s, f) for s, f in scalar if f.worst("largest_group_at_init") > 1]
    latest = max(f.latest_grad for _, f in scalar)
    if grouped:
        found = "; ".join(
            f"{f.name} on {s.where}: a group of {f.worst('largest_group_at_init')} identical units"
            for s, f in grouped
        )
        return f"{names} the branch's weights random, yet some layers start with identical units: {found}."
    return (
        f"{names} the branch's weights random: no hidden layer has two identical units at init in any "
        f"of their runs, and {gradients(latest)}, once the scalar has moved."
    )


def resnet_answer(setting: SettingFacts, verdicts: Mapping[str, Verdict]) -> list[str]:
    """What one ResNet setting measured, in words."""
    resnets, where, tag = setting.conditions, setting.where, setting.tag
    zeros, branch = resnets.get("zeros"), [resnets[s] for s in ZERO_BRANCH if s in resnets]
    paragraphs = []
    if branch:
        lines = "; ".join(
            f"{f.name} {number(f.mean)} (largest group of identical units at init: "
            f"{f.worst('largest_group_at_init')}, largest permanent group: "
            f"{f.worst('largest_permanent_at_init')}; {gradients(f.latest_grad)})"
            if f.symmetry
            else f"{f.name}: no finished run"
            for f in branch
        )
        defaults = ", ".join(
            f"{f.name} {number(f.mean)}" for f in resnets.values() if f.init == "pytorch-default"
        )
        paragraphs.append(
            f"Measured on {where} (final test accuracy, mean over seeds): {lines}. The defaults: {defaults}."
        )
    if zeros is not None:
        permanent, chance = verdicts[f"zeros-permanent/{tag}"], verdicts[f"zeros-chance/{tag}"]
        paragraphs.append(_zeros_paragraph(zeros, setting, permanent, chance))
    if "rezero" in resnets and "skipinit" in resnets:
        pairs = zip(resnets["rezero"].accuracies, resnets["skipinit"].accuracies, strict=False)
        gap = max((abs(a - b) for a, b in pairs), default=math.nan)
        same = "are the same in every seed" if gap == 0 else f"differ by at most {gap:.3g} across seeds"
        paragraphs.append(
            "Without normalization, rezero and skipinit are the same init (He-normal branches, a zero "
            f"scalar gain per branch): their final accuracies {same}."
        )
    return paragraphs


def _zeros_paragraph(zeros: Facts, setting: SettingFacts, permanent: Verdict, chance: Verdict) -> str:
    whole, hidden = zeros.worst("whole_permanent_at_init", min), zeros.worst("hidden")
    at_end = zeros.worst("whole_permanent_at_end", min)
    weights, never = len(zeros.layers.weights), zeros.never_grad
    if permanent == "holds":
        text = (
            f"All-zero init is different: {whole} of {hidden} hidden layers of resnet-20 are one permanent "
            f"group at init, {at_end} still at the end."
        )
    elif permanent == "fails":
        text = (
            f"All-zero init does not stay symmetric here: {whole} of {hidden} hidden layers are one "
            f"permanent group at init, {at_end} at the end."
        )
    else:
        text = "All-zero init: no symmetry records to tell whether its layers stay one permanent group."
    if never == weights:
        text += f" None of its {weights} weights ever gets a gradient: only biases can learn."
    elif not math.isnan(never):
        text += f" {never} of its {weights} weights never get a gradient."
    best = max(zeros.accuracies, default=math.nan)
    ends = f"It ends at {number(zeros.mean)} (best run {number(best)})"
    if chance == "holds":
        text += f" {ends}, the majority class's share of the test set ({setting.majority:.4f}): chance level."
    elif chance == "fails":
        text += f" {ends}, above the majority class's share of the test set ({setting.majority:.4f})."
    else:
        text += " No run finished, so its accuracy is unknown."
    if permanent == "holds":
        text += (
            " The skip path carries the input's variety only if something before it differs per channel: "
            "here the stem conv is zero too, so every channel of the stream is the same zero."
        )
    return text


def constant_answer(setting: SettingFacts, verdicts: Mapping[str, Verdict]) -> str | None:
    """What the constant-init net of one setting shows about locality, from its claims' verdicts, and
    any permanent group that the records show split nevertheless."""
    constant = setting.conditions.get("constant")
    if constant is None:
        return None
    split = [h for h in constant.permanent_groups if h.split_step is not None]
    if not split:
        return _constant_body(setting, verdicts)
    return (
        f"{_constant_body(setting, verdicts)} Its permanent groups do not all stay whole, though: "
        f"{_listed(split)}."
    )


def _constant_body(setting: SettingFacts, verdicts: Mapping[str, Verdict]) -> str:
    constant = setting.conditions["constant"]
    default = setting.default_for(constant)
    reaches = number(constant.mean) + (
        f", its default-initialized twin {number(default.mean)}" if default is not None else ""
    )
    whole, hidden = constant.worst("whole_permanent_at_init", min), constant.worst("hidden")
    rank, where, tag = constant.worst("max_rank_at_end"), setting.where, setting.tag
    permanent = verdicts[f"constant-permanent/{tag}"]
    if permanent == "inconclusive":
        return f"The constant-init {where} has no symmetry records; it reaches {reaches}."
    if constant.layers.convs:
        return _constant_conv(setting, permanent, verdicts[f"constant-conv-trains/{tag}"], reaches)
    if permanent == "fails":
        return (
            f"The fully connected {where} with constant init does not stay collapsed: {whole} of {hidden} "
            f"hidden layers are one permanent group at init, and the largest rank of a hidden weight at the "
            f"end is {rank}; it reaches {reaches}."
        )
    text = (
        f"The fully connected {where} with constant init collapses the same way (its hidden units are one "
        f"permanent group at init, rank {rank} at the end)"
    )
    gap = f"{COLLAPSE_GAP * 100:.0f} points"
    collapses = verdicts.get(f"constant-collapses/{tag}", "inconclusive")
    if collapses == "holds":
        return (
            text + f", and without positions to keep apart, one hidden unit in effect reaches only {reaches}."
        )
    if collapses == "fails":
        return text + f", yet it ends less than {gap} below its default: {reaches}."
    return text + f"; whether one unit in effect costs more than {gap} these runs do not settle: {reaches}."


def _constant_conv(setting: SettingFacts, permanent: Verdict, trains: Verdict, reaches: str) -> str:
    constant = setting.conditions["constant"]
    whole, hidden = constant.worst("whole_permanent_at_init", min), constant.worst("hidden")
    rank, where = constant.worst("max_rank_at_end"), setting.where
    if permanent == "fails":
        return (
            f"With every weight of the {where} set to 0.01, the channels do not stay copies of one: {whole} "
            f"of {hidden} hidden layers are one permanent group at init, and the largest rank of a hidden "
            f"weight at the end is {rank}. These runs do not contradict the accepted answer's locality "
            f"argument. The net reaches {reaches}."
        )
    text = (
        "The accepted answer's locality argument does not hold for channels. With every weight of the "
        f"{where} set to 0.01, each conv layer's channels are one permanent group ({whole} of {hidden} "
        f"hidden layers), and after training the largest rank of a hidden weight is {rank}: every channel "
        "is a copy of one. Locality makes positions differ, not channels: all channels at a position see "
        "the same input patch."
    )
    if trains == "holds":
        return text + f" One channel is enough to learn something, though: the net reaches {reaches}."
    if trains == "fails":
        return (
            text + f" One channel does not get far: the net reaches {reaches} (the majority class: "
            f"{setting.majority:.3f})."
        )
    return text + f" How far one channel gets these runs do not settle: {reaches}."
