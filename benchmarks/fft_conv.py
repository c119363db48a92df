"""Would an FFT convolution speed up the MNIST CNN? Its 16→32 5×5 conv, forward and backward, by oneDNN's
direct convolution (what ``F.conv2d`` runs) against the same products through 32×32 FFTs.

Run: ``.venv/bin/python benchmarks/fft_conv.py [--repeats 5] [--threads 1]``. The FFT route transforms
the images, the filters and the output gradient once each and multiplies per frequency (a batched
complex matmul over 32×17 frequencies): 9× fewer multiply-adds than the direct convolution's
28·28·16·32·25 per image, plus the transforms. It is checked against ``F.conv2d`` (output, input and
weight gradients within 1e-4 of the largest value), then both are timed in CPU seconds of this thread,
interleaved. Measured on the 2-core machine, one thread, busy with a sweep (``--repeats 3``): direct
81 ms (75–83), FFT 151 ms (121–151) for a batch of 128, with the three results within 2e-6 of the
direct ones: 1.8× slower, so the FFT route was not pursued (issue 14).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

BATCH, IN, OUT, SIZE, KERNEL = 128, 16, 32, 28, 5
N = 32  # the FFT size: at least SIZE + KERNEL - 1, so the circular convolution is the linear one
PAD = KERNEL // 2


def direct(x: torch.Tensor, w: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Output, input gradient and weight gradient of the "same" convolution, by autograd."""
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    w = w.contiguous(memory_format=torch.channels_last).requires_grad_()
    y = F.conv2d(x, w, padding=PAD)
    y.backward(grad.contiguous(memory_format=torch.channels_last))
    return y.detach(), x.grad, w.grad


def fft(x: torch.Tensor, w: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The same three by products per frequency (circular correlation and convolution, exact here as
    N covers the linear ones): y = x ⋆ w is X·conj(W), the input gradient G·W (a convolution), the
    weight gradient Σ_batch conj(G)·X; each shifted by the padding and cropped."""
    xf = torch.fft.rfft2(x, s=(N, N)).flatten(2).permute(2, 0, 1)  # frequencies × batch × in
    wf = torch.fft.rfft2(w, s=(N, N)).flatten(2).permute(2, 1, 0)  # frequencies × in × out
    gf = torch.fft.rfft2(grad, s=(N, N)).flatten(2).permute(2, 0, 1)  # frequencies × batch × out

    def spatial(products: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        return torch.fft.irfft2(products.permute(1, 2, 0).reshape(*shape, N, N // 2 + 1), s=(N, N))

    y = spatial(torch.bmm(xf, wf.conj()), (BATCH, OUT)).roll((PAD, PAD), (2, 3))[:, :, :SIZE, :SIZE]
    gx = spatial(torch.bmm(gf, wf.transpose(1, 2)), (BATCH, IN))[:, :, PAD : PAD + SIZE, PAD : PAD + SIZE]
    gw = spatial(torch.bmm(gf.conj().transpose(1, 2), xf), (OUT, IN)).roll((PAD, PAD), (2, 3))
    return y, gx, gw[:, :, :KERNEL, :KERNEL]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, IN, SIZE, SIZE, generator=gen)
    w = torch.randn(OUT, IN, KERNEL, KERNEL, generator=gen) * 0.05
    grad = torch.randn(BATCH, OUT, SIZE, SIZE, generator=gen)
    for name, a, b in zip(
        ("output", "input gradient", "weight gradient"), direct(x, w, grad), fft(x, w, grad), strict=True
    ):
        error = float((a - b).abs().max() / a.abs().max())
        print(f"{name:16} largest difference {error:.1e} of the largest value")
        assert error < 1e-4, f"the FFT route's {name} differs from F.conv2d's"
    seconds: dict[str, list[float]] = {"direct (F.conv2d)": [], "FFT": []}
    for repeat in range(args.repeats):
        for name, route in (("direct (F.conv2d)", direct), ("FFT", fft))[:: 1 if repeat % 2 == 0 else -1]:
            start = time.thread_time()
            route(x, w, grad)
            seconds[name].append(time.thread_time() - start)
    for name, ts in seconds.items():
        print(f"{name:18} {statistics.median(ts) * 1e3:7.1f} ms  ({min(ts) * 1e3:.1f}–{max(ts) * 1e3:.1f})")


if __name__ == "__main__":
    main()
