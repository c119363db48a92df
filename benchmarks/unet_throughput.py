"""Training throughput of the diffusion U-Net, against the fp32 GEMM peak and a plain PyTorch loop.

Run: ``.venv/bin/python benchmarks/unet_throughput.py [--steps N] [--channels C] [--compile]``. All
figures come from one process, so the ratios hold even when the machine's speed drifts.

1. initlab's loop: ``initlab.train`` on MNIST (the ``denoise`` task; sampling off), its images/s from
   the epoch's recorded ``train_seconds``, and the achieved GFLOP/s next to the GEMM peak.
2. A plain PyTorch loop over the same model and the same precomputed noisy batches (Adam, MSE), in
   the contiguous layout and in ``channels_last`` (which initlab's loop uses for conv nets).
3. With ``--compile``: the plain loop on ``torch.compile(model)``, and whether its losses equal the
   eager ones.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from initlab.config import RunConfig
from initlab.models import build_model
from initlab.tasks import Denoise
from initlab.train import load_splits, train
from initlab.train.device import uses_channels_last
from train_throughput import gemm_peak_gflops

BATCH = 64
CL = torch.channels_last


def conv_linear_flops(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
    """Matmul FLOPs of one forward pass (2·MACs of every conv and linear layer, from forward hooks)."""
    total = 0.0

    def count(module: nn.Module, args: tuple, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * out.numel()
        else:
            kernel = module.weight[0].numel()  # in/groups · k · k
            total += 2 * kernel * out.numel()

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)
    ]
    with torch.no_grad():
        model(*inputs)
    for h in hooks:
        h.remove()
    return total


def plain_loop(model: nn.Module, batches: list, fmt: torch.memory_format) -> tuple[float, list[float]]:
    """Seconds and losses of one pass of a plain Adam + MSE loop over ``batches``."""
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    start = time.perf_counter()
    for (xt, t), eps in batches:
        xt = xt.contiguous(memory_format=fmt)
        loss = (model(xt, t) - eps).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - start, losses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    config = RunConfig(
        dataset="mnist",
        model="unet",
        model_params={"model_channels": args.channels},
        init="zero-module",
        batch_size=BATCH,
        epochs=1,
        train_size=BATCH * args.steps,
        val_size=1_000,
        task_params={"sample_count": 0, "eval_size": 64},
        device="cpu",
    )
    splits = load_splits(config)
    peak = gemm_peak_gflops()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32 GEMM peak {peak:.1f} GFLOP/s")
    batches = Denoise(config).batches(splits.train, BATCH, torch.Generator().manual_seed(0))
    for fmt in (torch.contiguous_format, CL):  # warm up the kernels of both layouts, outside every timing
        plain_loop(
            build_model("unet", input_shape=(1, 28, 28), model_channels=args.channels), batches[:2], fmt
        )
    result = train(config, splits=splits)
    images = BATCH * args.steps
    seconds = result.summary["train_seconds"]
    model = build_model("unet", input_shape=(1, 28, 28), model_channels=args.channels)
    flops = 3 * conv_linear_flops(model, batches[0][0]) / BATCH  # forward + 2× for the backward
    print(f"U-Net ({args.channels} channels), {flops / 1e6:.0f} MFLOP per training image")
    layout = "channels_last" if uses_channels_last(model) else "contiguous"
    rows = [(f"initlab loop ({layout})", seconds)]

    def fresh() -> nn.Module:
        torch.manual_seed(0)
        return build_model("unet", input_shape=(1, 28, 28), model_channels=args.channels)

    for name, fmt in (("plain loop, contiguous", torch.contiguous_format), ("plain loop, channels_last", CL)):
        rows.append((name, plain_loop(fresh(), batches, fmt)[0]))
    if args.compile:
        eager = plain_loop(fresh(), batches, torch.contiguous_format)[1]
        plain_loop(torch.compile(fresh()), batches[:2], torch.contiguous_format)  # compile outside the timing
        seconds_c, losses_c = plain_loop(torch.compile(fresh()), batches, torch.contiguous_format)
        rows.append(("plain loop, torch.compile (after warm-up)", seconds_c))
        gap = max(abs(a - b) for a, b in zip(losses_c, eager, strict=True))
        print(f"torch.compile losses equal eager: {losses_c == eager} (max |Δ| {gap:.2e})")
    for name, secs in rows:
        rate = images / secs
        gflops = rate * flops / 1e9
        print(f"{name:<42} {rate:8.1f} images/s  {gflops:6.2f} GFLOP/s ({gflops / peak:.1%} of peak)")


if __name__ == "__main__":
    main()
