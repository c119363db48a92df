"""Training tokens/s of the decoder LM on shakespeare-char, against the GEMM peak and a plain loop.

Run: ``.venv/bin/python benchmarks/lm_throughput.py [--steps N] [--device cpu|cuda] [--compile]``. All
figures come from one process, so the ratios hold even when the machine's speed drifts between runs.
For each of two sizes:

Each is timed ``--repeats`` times, alternating, and the best kept (a shared machine's load drifts).

1. initlab's loop: ``initlab.train`` for ``--steps`` steps (windows gathered on the device, the
   attention in ``scaled_dot_product_attention``), its training tokens/s (the run's own
   ``train_tokens_per_second``) and achieved GFLOP/s next to the fp32 GEMM peak measured here.
2. A plain PyTorch loop over the same model, init and windows: ``torch.randint`` window starts, slice,
   ``cross_entropy``, ``backward``, ``Adam.step``, timed over the same steps.
3. With ``--compile``: the same plain loop over ``torch.compile(model)``, timed after its first
   (compiling) steps, and the largest difference of its losses from the eager loop's.

FLOPs per token are the matmul count of Chowdhery et al. 2022 (PaLM), appendix B: ``6·N + 12·L·T·d``
for N non-embedding parameters (the head included), L layers, context T and width d.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from initlab.config import RunConfig
from initlab.data import TokenCorpus
from initlab.train import load_splits, prepare_run, train
from initlab.train.device import resolve_device

SIZES = {
    "small": {"depth": 2, "width": 64, "heads": 4, "context": 64, "batch": 16},
    "medium": {"depth": 4, "width": 128, "heads": 4, "context": 128, "batch": 16},
}
"""Sizes a shared CPU times in minutes; a GPU takes larger ones (edit here)."""


def gemm_peak_gflops(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Best fp32 matmul rate over ``repeats`` n×n products on ``device``."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        torch.mm(a, b)
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def flops_per_token(model: nn.Module, depth: int, context: int, width: int) -> float:
    """``6·N + 12·L·T·d`` (PaLM, appendix B): N the parameters of the Linear layers (the embeddings
    are lookups, not matmuls)."""
    linear = sum(p.numel() for m in model.modules() if isinstance(m, nn.Linear) for p in m.parameters())
    return 6 * linear + 12 * depth * context * width


def plain_loop(
    model: nn.Module, data: TokenCorpus, batch: int, steps: int, lr: float, warmup: int = 0
) -> tuple[float, list[float]]:
    """Seconds of the ``steps`` after ``warmup`` steps of the idiomatic loop, and every step's loss."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    offsets = torch.arange(data.context + 1, device=data.tokens.device)
    losses, device = [], data.tokens.device
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        starts = torch.randint(0, data.max_start + 1, (batch,), generator=g).to(device)
        window = data.tokens[starts[:, None] + offsets]
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.flatten(0, 1), window[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())
    sync(device)
    return time.perf_counter() - start, [float(v) for v in losses]


def line(label: str, tokens_per_s: float, flops: float, peak: float, extra: str = "") -> str:
    achieved = tokens_per_s * flops / 1e9
    rate = f"{tokens_per_s:10.0f} tokens/s  {achieved:7.1f} GFLOP/s = {achieved / peak:.3f} of peak"
    return f"{label:<34} {rate}{extra}"


def bench(size: str, steps: int, repeats: int, device: str, compile_: bool, peak: float) -> None:
    spec = SIZES[size]
    config = RunConfig(
        dataset="shakespeare-char", dataset_params={"context": spec["context"], "eval_windows": 8},
        model="transformer",
        model_params={"kind": "decoder", **{k: spec[k] for k in ("depth", "width", "heads")}},
        batch_size=spec["batch"], max_steps=steps, lr=1e-3, device=device, log_every=steps,
    )  # fmt: skip
    splits = load_splits(config)
    setup = prepare_run(config, splits=splits)
    dev = setup.device
    flops = flops_per_token(setup.model, spec["depth"], spec["context"], spec["width"])
    data = splits.train.to(dev)
    tokens = spec["batch"] * spec["context"] * steps

    def fresh() -> nn.Module:
        return prepare_run(config, splits=splits).model.to(dev)

    ours, eager_s = 0.0, float("inf")
    for _ in range(repeats):  # alternated, best of each: a shared machine's load drifts
        ours = max(ours, train(config, splits=splits).history[-1]["train_tokens_per_second"])
        seconds, eager_losses = plain_loop(fresh(), data, spec["batch"], steps, config.lr)
        eager_s = min(eager_s, seconds)
    params = sum(p.numel() for p in setup.model.parameters())
    print(f"{size}: {spec}, {params:,} parameters, {flops / 1e6:.1f} MFLOP per token, {steps} steps")
    print(line("  initlab loop", ours, flops, peak))
    print(
        line(
            "  plain PyTorch loop",
            tokens / eager_s,
            flops,
            peak,
            f"  (initlab {ours * eager_s / tokens:.2f}×)",
        )
    )
    if compile_:
        compiled: Callable = torch.compile(fresh())
        start = time.perf_counter()
        compiled_s, compiled_losses = plain_loop(compiled, data, spec["batch"], steps, config.lr, warmup=3)
        total = time.perf_counter() - start
        diff = max(abs(a - b) for a, b in zip(compiled_losses[3:], eager_losses[3:], strict=False))
        print(
            line("  plain loop, torch.compile", tokens / compiled_s, flops, peak)
            + f"  (compile + 3 steps {total - compiled_s:.1f} s; losses differ by ≤ {diff:.2e})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--steps", type=int, default=20, help="Training steps timed per size.")
    parser.add_argument("--repeats", type=int, default=2, help="Alternated timings; the best is shown.")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda.")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument(
        "--compile", action="store_true", help="Also time the plain loop under torch.compile."
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    peak = gemm_peak_gflops(device)
    print(f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"fp32 GEMM peak {peak:.1f} GFLOP/s")
    for size in args.sizes:
        bench(size, args.steps, args.repeats, args.device, args.compile, peak)


if __name__ == "__main__":
    main()
