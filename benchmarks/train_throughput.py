"""Training throughput of the seed study's MNIST FNN, against the machine's GEMM peak and two baselines.

Run: ``.venv/bin/python benchmarks/train_throughput.py [--png-images N]``. All figures come from one
process, so the ratios hold even when the machine's speed drifts between runs.

1. initlab's loop: one training epoch of ``initlab.train`` (device tensors, index-slice batches),
   its samples/s and achieved GFLOP/s next to the fp32 GEMM peak measured here.
2. An idiomatic ``DataLoader(TensorDataset, shuffle=True)`` loop over the same tensors.
3. A re-creation of the seed study's loop: MNIST saved as one PNG per image, read per sample with
   PIL inside ``DataLoader(num_workers=1)``. The PNGs are written once to a cache folder.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

from initlab.config import RunConfig
from initlab.models import build_model, weight_layers
from initlab.train import load_splits, train

BATCH = 128


def gemm_peak_gflops(n: int = 2048, repeats: int = 10, now: Callable[[], float] = time.perf_counter) -> float:
    """Best fp32 matmul rate over ``repeats`` n×n products, timed with ``now``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = now()
        torch.mm(a, b)
        best = min(best, now() - start)
    return 2 * n**3 / best / 1e9


def training_flops_per_sample(model: torch.nn.Module) -> float:
    """Matmul FLOPs of one forward + backward per sample of an MLP.

    Forward 2·in·out per Linear; backward 2·in·out for the weight gradient of every layer and
    2·in·out for the input gradient of every layer but the first (the data need no gradient).
    """
    sizes = [(layer.in_features, layer.out_features) for _, layer in weight_layers(model)]
    forward = sum(2 * i * o for i, o in sizes)
    return forward + forward + sum(2 * i * o for i, o in sizes[1:])


def time_loader_epoch(loader: DataLoader, seed: int = 0) -> tuple[float, int]:
    """Seconds and samples of one epoch of the plain PyTorch loop over ``loader``."""
    torch.manual_seed(seed)
    model = build_model("mnist-fnn")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seen = 0
    start = time.perf_counter()
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        seen += len(y)
    return time.perf_counter() - start, seen


class PngFolder(torch.utils.data.Dataset):
    """One PNG per image, opened with PIL per sample (the seed study's ``CustomImageDataset``)."""

    def __init__(self, folder: Path, labels: torch.Tensor):
        self.paths = sorted(folder.glob("*.png"))
        self.labels = labels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        with Image.open(self.paths[i]) as img:
            x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).unsqueeze(0)
        return x, self.labels[i]


def png_folder(images: torch.Tensor, folder: Path) -> Path:
    """Write ``images`` (N×1×28×28 in [0, 1]) as PNGs into ``folder`` unless they are already there."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.png"))) != len(images):
        pixels = (images.squeeze(1) * 255).round().to(torch.uint8).numpy()
        for i, img in enumerate(pixels):
            Image.fromarray(img).save(folder / f"img_{i:08d}.png")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--png-images", type=int, default=None, help="PNG baseline on this many images only")
    parser.add_argument("--png-cache", type=Path, default=Path.home() / ".cache/initlab/bench-png")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())

    config = RunConfig(dataset="mnist", model="mnist-fnn", epochs=1)
    splits = load_splits(config)
    n = len(splits.train)
    flops = training_flops_per_sample(build_model("mnist-fnn"))
    peak = gemm_peak_gflops()

    result = train(config, splits=splits)
    ours = result.history[1]["train_seconds"]
    achieved = flops * n / ours / 1e9
    print(f"threads {torch.get_num_threads()}, torch {torch.__version__}, {n} training images")
    print(f"fp32 GEMM peak                 {peak:8.1f} GFLOP/s")
    print(
        f"initlab epoch                  {ours:8.2f} s  {n / ours:9.0f} samples/s  "
        f"{achieved:6.1f} GFLOP/s = {achieved / peak:.2f} of peak"
    )

    tensors = TensorDataset(splits.train.x, splits.train.y)
    loader_s, _ = time_loader_epoch(DataLoader(tensors, batch_size=BATCH, shuffle=True))
    rate, ratio = n / loader_s, loader_s / ours
    print(f"DataLoader(TensorDataset)      {loader_s:8.2f} s  {rate:9.0f} samples/s  ratio {ratio:.2f}×")

    count = min(args.png_images or n, n)
    folder = png_folder(splits.train.x[:count], args.png_cache / f"mnist-train-{count}")
    png = PngFolder(folder, splits.train.y[:count])
    png_s, seen = time_loader_epoch(DataLoader(png, batch_size=BATCH, shuffle=True, num_workers=1))
    png_epoch = png_s * n / seen
    scaled = "" if seen == n else f" (timed on {seen} images, scaled to {n})"
    print(
        f"PNG per image, PIL, 1 worker   {png_epoch:8.2f} s  {seen / png_s:9.0f} samples/s  "
        f"ratio {png_epoch / ours:.2f}×{scaled}"
    )


if __name__ == "__main__":
    main()
