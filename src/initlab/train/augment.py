"""Input pipelines of a run, in plain torch (no torchvision): per-channel standardization and the
random crop and flip of CIFAR training (He et al. 2016, §4.2: pad 4, random 32×32 crop, flip)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from initlab.data import Dataset


def channel_stats(data: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of ``data.x`` (shapes 1×C×1×1)."""
    mean = data.x.mean(dim=(0, 2, 3), keepdim=True)
    std = data.x.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-12)
    return mean, std


def standardize(data: Dataset, mean: torch.Tensor, std: torch.Tensor) -> Dataset:
    """``data`` with x ← (x − mean) / std per channel (the statistics of the training split)."""
    return Dataset(data.name, data.split, (data.x - mean) / std, data.y, data.num_classes)


def crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Each image of the batch ``x`` (B×C×H×W) zero-padded by ``pad``, cropped back to H×W at a random
    offset, and mirrored left-right with probability ½; the draws come from the CPU ``generator``."""
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator).to(x.device)
    flip = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    rows = offsets[:, :1] + torch.arange(h, device=x.device)
    cols = torch.arange(w, device=x.device).expand(b, w)
    cols = offsets[:, 1:] + torch.where(flip[:, None], w - 1 - cols, cols)
    padded = F.pad(x, (pad, pad, pad, pad))
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    crops = padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return crops.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
