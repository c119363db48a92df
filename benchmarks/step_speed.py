"""Issue 14's goals 1 and 2: the seed's MNIST CNN step and MNIST FNN epoch against their baselines, as
ratios, and the least time the full MNIST table's arithmetic takes on this machine.

Run: ``.venv/bin/python benchmarks/step_speed.py [--steps 20] [--repeats 5] [--threads 1] [--no-compile]``.
Everything runs in this one process, on the same MNIST tensors (the first ``--steps`` batches of 128),
with the settings interleaved (the order reversed every other repeat) and repeated; each figure is the
median over the repeats, each ratio the median of the per-repeat ratios, so drift of a shared machine
hits both sides alike. Time is the CPU time of the training thread (``time.thread_time``), which does
not count the time other processes hold the core; one thread by default, as in
``probe_overhead.py`` (``--wall`` for wall time with ``--threads`` threads).

1. **MNIST CNN step** (conv5×5 1→16, conv5×5 16→32, Linear 25088→10, ELU; Adam lr 1e-3, batch 128):
   the idiomatic eager loop in channels_last (``zero_grad``, ``cross_entropy``, ``backward``,
   ``step``, the baseline), the same in the default contiguous format, initlab's step (its
   ``train_step`` with the loop's per-step sums, on the placement ``prepare_run`` chooses), the
   eager loop with a ``foreach`` and a ``fused`` Adam, ``torch.compile`` of the model, and
   ``torch.compile`` of the whole step (forward, loss, backward, optimizer step). Every variant starts
   from the same weights; its first 10 losses are compared with the baseline's (bitwise, or the
   largest absolute difference), then it is timed.
   The step's FLOPs (:func:`layer_flops`) give each its rate against the fp32 GEMM peak measured here,
   and the full MNIST table's FLOPs (:func:`table_flops`) the least time it can take at that peak.
2. **MNIST FNN epoch** (784-500-10, and a 784-1024-1024-10 MLP): one training epoch of
   ``initlab.train`` (53,000 images, 415 steps of 128, evaluation excluded), plain and with
   ``fused_optimizer``, against the time of its own matrix products alone: the same shapes, forward
   (x·W1ᵀ, h·W2ᵀ) and backward (the weight gradients of every layer, the input gradient of every layer
   but the first), 415 steps. Beside them, the epoch's 415 fused Adam steps alone: the memory-bound
   passes over the parameters that any Adam epoch adds to its matmuls.
3. **Evaluation** of the CNN on the 10,000 test images at ``eval_batch_size`` 250 to 10,000 (a
   RunConfig field, part of the run key): time, and the loss's difference from the default 1000's.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from initlab.config import RunConfig
from initlab.models import build_model, weight_layers
from initlab.step import train_step
from initlab.studies import get_study
from initlab.train import Callback, RunSetup, TrainContext, load_splits, prepare_run, train
from train_throughput import gemm_peak_gflops

BATCH = 128
CHECK_STEPS = 10
Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def clock(wall: bool) -> Callable[[], float]:
    return time.perf_counter if wall else time.thread_time


def eager(model: nn.Module, optimizer: torch.optim.Optimizer) -> Step:
    """The idiomatic PyTorch step."""

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.detach()

    return step


def cnn_variants(setup: RunSetup, compile_too: bool) -> dict[str, tuple[Step, torch.memory_format]]:
    """name -> (step, input memory format), each on its own copy of ``setup``'s initialized model."""
    base = copy.deepcopy(setup.model)

    def fresh(fmt: torch.memory_format = torch.channels_last) -> nn.Module:
        return copy.deepcopy(base).to(memory_format=fmt)

    cl = torch.channels_last
    variants: dict[str, tuple[Step, torch.memory_format]] = {}
    m = fresh()
    variants["eager channels_last (baseline)"] = (eager(m, torch.optim.Adam(m.parameters(), lr=1e-3)), cl)
    m = fresh(torch.contiguous_format)
    variants["eager contiguous"] = (
        eager(m, torch.optim.Adam(m.parameters(), lr=1e-3)),
        torch.contiguous_format,
    )
    variants["initlab train_step"] = initlab_step(setup)
    for kind in ("foreach", "fused"):
        m = fresh()
        variants[f"eager, {kind} Adam"] = (
            eager(m, torch.optim.Adam(m.parameters(), lr=1e-3, **{kind: True})),
            cl,
        )
    if compile_too:
        m = fresh()
        variants["torch.compile(model)"] = (
            eager(torch.compile(m), torch.optim.Adam(m.parameters(), lr=1e-3)),
            cl,
        )
        m = fresh()
        variants["torch.compile(whole step)"] = (
            torch.compile(eager(m, torch.optim.Adam(m.parameters(), lr=1e-3))),
            cl,
        )
    return variants


def initlab_step(setup: RunSetup) -> tuple[Step, torch.memory_format]:
    """initlab's step: ``train_step`` on the model, optimizer and task that ``prepare_run`` set up (the
    model placed as the loop places it), plus the per-step device sums the loop keeps."""
    model, *_ = setup.place()
    optimizer, scheduler = setup.optimizer(model.parameters())
    task = setup.task
    fmt = torch.channels_last if model[0].weight.is_contiguous(memory_format=torch.channels_last) else None
    sums: dict[str, torch.Tensor] = {}

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        outputs, loss = train_step(lambda b: task.forward(model, b), x, y, task.loss, optimizer, scheduler)
        for name, value in {"loss": loss * len(y), **task.batch_sums(outputs, y)}.items():
            sums[name] = sums[name] + value if name in sums else value
        return loss

    return step, fmt or torch.contiguous_format


def layer_flops(model: nn.Module, sample: torch.Tensor) -> list[float]:
    """Multiply-add FLOPs of each Conv2d and Linear layer's forward pass on one ``sample`` (a batch of
    one), counted from the output shapes a forward pass gives: 2 · outputs · (inputs per output)."""
    flops: list[float] = []

    def count(layer: nn.Module, _: tuple, out: torch.Tensor) -> None:
        per_output = (
            layer.in_channels // layer.groups * math.prod(layer.kernel_size)
            if isinstance(layer, nn.Conv2d)
            else layer.in_features
        )
        flops.append(2.0 * out.numel() * per_output)

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            model(sample)
    finally:
        for hook in hooks:
            hook.remove()
    return flops


def training_flops(forward: list[float]) -> float:
    """FLOPs of one training step per image from its layers' forward FLOPs: the forward pass, the weight
    gradient of every layer and the input gradient of every layer but the first (images need none)."""
    return 3 * sum(forward) - forward[0]


def table_flops(study: str, preset: str, parts: list[str]) -> tuple[int, float]:
    """Runs and multiply-add FLOPs of a study's sweeps: per run, every training image of every epoch
    (:func:`training_flops`) plus the forward passes of the validation and test splits evaluated before
    training and after each epoch."""
    runs, total, loaded = 0, 0.0, {}
    for config in get_study(study).configs(preset, parts):
        key = (config.dataset, config.val_size, config.train_size)
        splits = loaded[key] = loaded.get(key) or load_splits(config)
        forward = layer_flops(build_model(config.model, **config.model_params), splits.train.x[:1])
        evaluated = (len(splits.val) + len(splits.test)) * (config.epochs + 1)
        total += config.epochs * len(splits.train) * training_flops(forward) + evaluated * sum(forward)
        runs += 1
    return runs, total


def time_settings(
    settings: dict[str, Callable[[], None]], repeats: int, now: Callable[[], float]
) -> dict[str, list[float]]:
    """Seconds of each setting per repeat, interleaved, the order reversed every other repeat."""
    seconds: dict[str, list[float]] = {name: [] for name in settings}
    for repeat in range(repeats):
        for name in list(settings) if repeat % 2 == 0 else list(settings)[::-1]:
            start = now()
            settings[name]()
            seconds[name].append(now() - start)
    return seconds


def report(seconds: dict[str, list[float]], baseline: str, unit: float, label: str) -> dict[str, float]:
    """Print median time per ``unit`` and the median ratio to ``baseline`` (with its range); return
    the median ratios."""
    base = seconds[baseline]
    ratios = {}
    print(f"{label:36} {'median':>10} {'× baseline':>11}  (range)")
    for name, ts in seconds.items():
        r = [b / t for t, b in zip(ts, base, strict=True)]
        ratios[name] = statistics.median(r)
        print(
            f"{name:36} {statistics.median(ts) / unit * 1e3:8.2f}ms {ratios[name]:10.2f}×"
            f"  ({min(r):.2f}–{max(r):.2f})"
        )
    return ratios


def cnn_benchmark(steps: int, repeats: int, compile_too: bool, now: Callable[[], float]) -> None:
    config = RunConfig(dataset="mnist", model="mnist-cnn", val_size=0, train_size=steps * BATCH, epochs=1)
    setup = prepare_run(config)
    splits = setup.splits
    batches = [
        (splits.train.x[i * BATCH : (i + 1) * BATCH], splits.train.y[i * BATCH : (i + 1) * BATCH])
        for i in range(steps)
    ]
    variants = cnn_variants(setup, compile_too)
    reference: list[float] | None = None
    print(f"\nMNIST CNN, batch {BATCH}, Adam: first {CHECK_STEPS} losses against the baseline's")
    runs: dict[str, Callable[[], None]] = {}
    for name, (step, fmt) in variants.items():
        inputs = [(x.contiguous(memory_format=fmt), y) for x, y in batches]
        started = time.perf_counter()
        losses = [float(step(*inputs[i % steps])) for i in range(CHECK_STEPS)]
        reference = reference or losses
        diff = max(abs(a - b) for a, b in zip(losses, reference, strict=True))
        same = "bitwise equal" if losses == reference else f"max |Δloss| {diff:.2e}"
        print(
            f"  {name:36} {same:24} (first {CHECK_STEPS} steps, compile included:"
            f" {time.perf_counter() - started:.1f} s)"
        )

        def run(step: Step = step, inputs: list = inputs) -> None:
            for x, y in inputs:
                step(x, y)

        runs[name] = run
    seconds = time_settings(runs, repeats, now)
    ratios = report(
        seconds, "eager channels_last (baseline)", steps, f"per step ({steps} steps, {repeats} repeats)"
    )
    flops = BATCH * training_flops(layer_flops(setup.model, batches[0][0][:1]))
    peak = gemm_peak_gflops(now=now)
    for name in ("eager channels_last (baseline)", max(ratios, key=ratios.get)):
        rate = flops / statistics.median(seconds[name]) * steps / 1e9
        print(f"  {name}: {rate:.0f} GFLOP/s, {rate / peak:.2f} of the {peak:.0f} GFLOP/s fp32 GEMM peak")
    best = max((r, n) for n, r in ratios.items())
    print(f"goal 2 (CNN step ≥ 2× the eager channels_last loop): best {best[0]:.2f}× ({best[1]})")
    runs, table = table_flops("zero-symmetry", "full", ["mnist-fnn", "mnist-cnn"])
    print(
        f"goal 1 (the full MNIST table, {runs} runs, ≤ 60 min): {table / 1e12:.0f} TFLOP of products and"
        f" convolutions, at least {table / (peak * 1e9) / 60:.0f} min at the {peak:.0f} GFLOP/s measured"
        f" here with {torch.get_num_threads()} thread(s) (the table's runs on these threads)"
    )


class StepClock(Callback):
    """The training thread's time at the start of the first step and at the end of the last."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now, self.first, self.last = now, None, 0.0

    def on_step_start(self, ctx: TrainContext) -> None:
        self.first = self.now() if self.first is None else self.first

    def on_step_end(self, ctx: TrainContext) -> None:
        self.last = self.now()


def matmul_epoch(model: nn.Module, n: int, now: Callable[[], float]) -> float:
    """Seconds of an epoch's matrix products alone for the MLP ``model`` over ``n`` images: per batch,
    x·Wᵀ of every layer, the gradient Gᵀ·x of every weight and G·W of every input but the first."""
    weights = [layer.weight.detach() for _, layer in weight_layers(model)]
    x0 = torch.randn(BATCH, weights[0].shape[1])
    acts = [x0] + [torch.randn(BATCH, w.shape[0]) for w in weights]
    start = now()
    for first in range(0, n, BATCH):
        size = min(BATCH, n - first)
        xs = [a[:size] for a in acts]
        for i, w in enumerate(weights):
            torch.mm(xs[i], w.T)
        for i in reversed(range(len(weights))):
            torch.mm(xs[i + 1].T, xs[i])
            if i:
                torch.mm(xs[i + 1], weights[i])
    return now() - start


def adam_epoch(model: nn.Module, n: int, now: Callable[[], float]) -> float:
    """Seconds of an epoch's fused Adam steps alone for ``model`` over ``n`` images (one step per batch,
    on fixed gradients): the optimizer's passes over the parameters, which the matmuls do not count."""
    params = [p.detach().clone().requires_grad_() for p in model.parameters()]
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.Adam(params, lr=1e-3, fused=True)
    start = now()
    for _ in range(0, n, BATCH):
        optimizer.step()
    return now() - start


def eager_epoch(model: nn.Module, splits: object, adam: str, now: Callable[[], float]) -> Callable[[], float]:
    """A timed epoch of the idiomatic loop over the training tensors in index-slice batches of 128,
    on a copy of ``model``, with the default or the ``fused`` Adam; returns its seconds."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, **({"fused": True} if adam == "fused" else {}))
    step, x, y = eager(model, optimizer), splits.train.x, splits.train.y

    def run() -> float:
        start = now()
        for first in range(0, len(y), BATCH):
            step(x[first : first + BATCH], y[first : first + BATCH])
        return now() - start

    return run


def fnn_benchmark(repeats: int, now: Callable[[], float]) -> None:
    print("\nMNIST MLP epoch (53,000 images, batch 128) against its own matrix products")
    for label, model, params in (
        ("784-500-10 (mnist-fnn)", "mnist-fnn", {}),
        ("784-1024-1024-10 (mlp)", "mlp", {"depth": 3, "width": 1024}),
    ):
        config = RunConfig(dataset="mnist", model=model, model_params=params, epochs=1)
        splits = load_splits(config)
        n = len(splits.train)
        probe = build_model(model, **params)

        def epoch(config: RunConfig, splits: object = splits) -> float:
            stamp = StepClock(now)
            train(config, splits=splits, callbacks=[stamp])
            return stamp.last - stamp.first

        plain = {kind: eager_epoch(probe, splits, kind, now) for kind in ("default", "fused")}
        settings: dict[str, Callable[[], float]] = {
            "initlab epoch": lambda config=config: epoch(config),
            "initlab epoch, fused_optimizer": lambda config=config: epoch(
                config.model_copy(update={"fused_optimizer": True})
            ),
            "matmuls alone": lambda probe=probe, n=n: matmul_epoch(probe, n, now),
            "fused Adam steps alone": lambda probe=probe, n=n: adam_epoch(probe, n, now),
            "eager loop, Adam": plain["default"],
            "eager loop, fused Adam": plain["fused"],
        }
        seconds: dict[str, list[float]] = {name: [] for name in settings}
        for repeat in range(repeats):
            for name in list(settings) if repeat % 2 == 0 else list(settings)[::-1]:
                seconds[name].append(settings[name]())
        print(f"  {label}: against the matrix products alone (the limit; goal ≤ 1.2×)")
        for name, ts in seconds.items():
            r = [t / m for t, m in zip(ts, seconds["matmuls alone"], strict=True)]
            median = statistics.median(r)
            print(
                f"    {name:32} {statistics.median(ts):6.2f} s  {median:5.2f}×  ({min(r):.2f}–{max(r):.2f})"
            )


def eval_benchmark(repeats: int, now: Callable[[], float]) -> None:
    """The CNN's evaluation on MNIST's 10,000 test images at several ``eval_batch_size``."""
    setup = prepare_run(RunConfig(dataset="mnist", model="mnist-cnn", val_size=0, train_size=BATCH))
    model, _, _, test = setup.place()
    sizes = (250, 1000, 2500, 10_000)
    values = {size: setup.task.evaluate(model, test, size) for size in sizes}
    seconds = time_settings(
        {f"eval_batch_size={size}": lambda s=size: setup.task.evaluate(model, test, s) for size in sizes},
        repeats,
        now,
    )
    print("\nMNIST CNN evaluation, 10,000 test images (the default eval_batch_size is 1000)")
    report(seconds, "eval_batch_size=1000", 1.0, "per evaluation")
    for size in sizes:
        diff = abs(values[size]["loss"] - values[1000]["loss"])
        same = values[size]["accuracy"] == values[1000]["accuracy"]
        print(f"  {size:6}: |Δloss| {diff:.1e} against 1000, accuracy {'equal' if same else 'DIFFERS'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--wall", action="store_true", help="wall time instead of the thread's CPU time")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile variants")
    parser.add_argument("--part", choices=("cnn", "fnn", "eval", "all"), default="all")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    now = clock(args.wall)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s),"
        f" {'wall' if args.wall else 'CPU'} time"
    )
    if args.part in ("cnn", "all"):
        cnn_benchmark(args.steps, args.repeats, not args.no_compile, now)
    if args.part in ("fnn", "all"):
        fnn_benchmark(args.repeats, now)
    if args.part in ("eval", "all"):
        eval_benchmark(args.repeats, now)


if __name__ == "__main__":
    main()
