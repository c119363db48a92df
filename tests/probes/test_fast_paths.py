"""The probes' cheap options against their exact twins on real MNIST weights and gradients: sampled
gradient quantiles within their stated DKW rank bound, ranks from the Gram matrix equal to the SVD's,
and both options left out of the run key at their defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from initlab import apply_init, build_model
from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.probes import PROBES, GradDistProbe, SymmetryProbe
from initlab.probes.grad_dist import DELTA, QUANTILE_NAMES, QUANTILES, quantile_rank_error, sampled_quantiles
from initlab.probes.symmetry import rank_and_effective_rank
from initlab.probes.table import at_step
from initlab.train import resolve_config

K = 16_384


def mnist_mlp(init: str, steps: int, sgd: bool = False) -> tuple[nn.Module, list[torch.Tensor]]:
    """The seed study's MNIST MLP (784-500-10) trained ``steps`` steps (batch 128) on MNIST with Adam
    (lr 1e-3) or SGD (lr 0.1); its first layer's gradient of each step."""
    model = apply_init(build_model("mnist-fnn"), init, torch.Generator().manual_seed(0))
    data = load_dataset("mnist", "train")
    params = model.parameters()
    optimizer = torch.optim.SGD(params, lr=0.1) if sgd else torch.optim.Adam(params, lr=1e-3)
    grads = []
    for i in range(steps):
        batch = slice(i * 128, (i + 1) * 128)
        optimizer.zero_grad()
        F.cross_entropy(model(data.x[batch]), data.y[batch]).backward()
        grads.append(model.fc1.weight.grad.clone())
        optimizer.step()
    return model, grads


def test_the_stated_bound_is_the_dkw_epsilon_plus_one_over_k() -> None:
    assert quantile_rank_error(K) == pytest.approx(math.sqrt(math.log(2000) / (2 * K)) + 1 / K, rel=1e-12)
    assert 0.0152 < quantile_rank_error(K) < 0.0154  # the figure the docstring gives
    assert DELTA == 1e-3


def test_sampled_quantiles_lie_within_their_rank_bound_on_real_gradients() -> None:
    """fc1's gradient (392,000 elements) at steps 0, 4 and 9 of Adam on MNIST, 10 seeded draws each:
    every interior quantile lies between the exact order statistics at ranks (q ∓ ε')·n, min and max
    are exact, and the observed rank errors are a real approximation (not 0) of the bound's size."""
    _, grads = mnist_mlp("pytorch-default", 10)
    eps = quantile_rank_error(K)
    worst = 0.0
    for grad in (grads[0], grads[4], grads[9]):
        ordered = grad.flatten().double().sort().values
        n = ordered.numel()
        for seed in range(10):
            values = sampled_quantiles(grad, K, np.random.default_rng(seed))
            assert values[0] == float(ordered[0]) and values[-1] == float(ordered[-1])
            for q, v in zip(QUANTILES[1:-1], values[1:-1], strict=True):
                low = ordered[max(math.floor((q - eps) * n) - 1, 0)]
                high = ordered[min(math.ceil((q + eps) * n), n - 1)]
                assert low <= v <= high, (q, v, float(low), float(high))
                below, upto = float((ordered < v).double().mean()), float((ordered <= v).double().mean())
                worst = max(worst, below - q, q - upto)  # q's distance from v's ranks (ties: a range)
    print(f"\nworst rank error over 150 sampled quantiles: {worst:.4f} (bound {eps:.4f}, δ = {DELTA})")
    assert eps / 20 < worst <= eps


def test_the_sampling_probe_keeps_exact_what_is_cheap_and_reruns_bitwise() -> None:
    model, _ = mnist_mlp("pytorch-default", 3)  # its last gradient is still in .grad
    exact = at_step(GradDistProbe().attach(model).record(3), 3)
    sampled = at_step(GradDistProbe(sample=K).attach(model).record(3), 3)
    again = at_step(GradDistProbe(sample=K).attach(model).record(3), 3)
    assert sampled == again
    assert sampled["head"] == exact["head"]  # 5,000 elements ≤ k: exact
    for name in ("min", "max", "norm", "zero_fraction"):
        assert sampled["fc1"][name] == exact["fc1"][name]
    interior = QUANTILE_NAMES[1:-1]
    assert [sampled["fc1"][q] for q in interior] != [exact["fc1"][q] for q in interior]


def ranks_agree(weight: torch.Tensor) -> tuple[int, float]:
    """The SVD's (rank, effective rank) of ``weight``, after checking the Gram method's against it."""
    svd, gram = rank_and_effective_rank(weight, "svd"), rank_and_effective_rank(weight, "gram")
    assert gram[0] == svd[0]
    assert gram[1] == pytest.approx(svd[1], rel=1e-5, abs=1e-9)
    return svd


def test_gram_ranks_equal_the_svds_on_trained_and_degenerate_mnist_weights() -> None:
    """Trained weights (full rank), zero-weight-random-bias weights after two SGD steps (rank 1, the ZerO
    degeneracy the rank-gap study tracks, with σ₂..σ_n rounding noise) and a float32 matrix whose
    singular values run from 1 down to 1e-7, across the numerical-rank tolerance (σ_max·784·ε₃₂)."""
    trained, _ = mnist_mlp("pytorch-default", 20)
    assert ranks_agree(trained.fc1.weight)[0] == 500
    assert ranks_agree(trained.head.weight)[0] == 10
    # step 0 moves the head along relu(b), step 1 moves fc1 along the head's row space
    degenerate, _ = mnist_mlp("zero-weight-random-bias", 2, sgd=True)
    assert ranks_agree(degenerate.head.weight)[0] == 1
    assert ranks_agree(degenerate.fc1.weight)[0] == 1
    g = torch.Generator().manual_seed(1)
    u, _ = torch.linalg.qr(torch.randn(500, 90, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(784, 90, generator=g, dtype=torch.float64))
    sigma = torch.logspace(0, -7, 90, dtype=torch.float64)
    tol = 784 * torch.finfo(torch.float32).eps
    assert (((sigma - tol).abs() / tol) > 0.02).all()  # none within 2% of the tolerance
    rank, _ = ranks_agree(((u * sigma) @ v.T).float())
    assert rank == int((sigma > tol).sum())


def test_the_symmetry_probe_uses_the_method_it_is_given() -> None:
    trained, _ = mnist_mlp("pytorch-default", 2)
    svd = at_step(SymmetryProbe(rank_method="svd").attach(trained).record(0), 0)
    gram = at_step(SymmetryProbe(rank_method="gram").attach(trained).record(0), 0)
    assert svd["fc1"]["rank"] == gram["fc1"]["rank"] == 500
    assert gram["fc1"]["effective_rank"] != svd["fc1"]["effective_rank"]  # another computation
    assert gram["fc1"]["effective_rank"] == pytest.approx(svd["fc1"]["effective_rank"], rel=1e-5)


def test_the_options_stay_out_of_the_run_key_at_their_defaults() -> None:
    plain = RunConfig(probes={"grad-dist": {}, "symmetry": {"rank": 10}})
    spelled = RunConfig(probes={"grad-dist": {"sample": 0}, "symmetry": {"rank": 10, "rank_method": "svd"}})
    cheap = RunConfig(probes={"grad-dist": {"sample": K}, "symmetry": {"rank": 10, "rank_method": "gram"}})
    resolved = [resolve_config(c) for c in (plain, spelled, cheap)]
    assert "sample" not in resolved[0].probes["grad-dist"]
    assert "rank_method" not in resolved[0].probes["symmetry"]
    assert resolved[0].key() == resolved[1].key() != resolved[2].key()
    assert resolved[2].probes["grad-dist"]["sample"] == K
    with pytest.raises(Exception, match="rank_method"):
        PROBES.get("symmetry").validate({"rank_method": "qr"})
