"""Order statistics by bracketing: the same numbers as a full selection, on data chosen to mislead it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from initlab.probes import selection
from initlab.probes.grad_dist import QUANTILES, exact_quantiles
from initlab.probes.selection import DIRECT, order_statistics

N = 3 * DIRECT


def quantile_ranks(n: int) -> np.ndarray:
    """The ranks the grad-dist quantiles read: floor and ceil of q·(n−1)."""
    pos = np.asarray(QUANTILES) * (n - 1)
    return np.unique(np.concatenate([np.floor(pos), np.ceil(pos)]).astype(np.int64))


def cases(rng: np.random.Generator) -> dict[str, np.ndarray]:
    normal = rng.standard_normal(N)
    half_zero = normal.copy()
    half_zero[rng.random(N) < 0.5] = 0.0
    negative_zeros = normal * 1e-30
    negative_zeros[rng.random(N) < 0.9] = -0.0
    infinite = rng.standard_cauchy(N)
    infinite[::7], infinite[::11] = np.inf, -np.inf
    outliers = np.where(np.arange(N) % 997 == 0, 6e4, normal)  # 6e4: finite in float16 too
    few_values = np.ones(N)
    few_values[::1000] = 2.0
    return {
        "normal": normal,
        "half exact zeros": half_zero,
        "all zeros": np.zeros(N),
        "one value": np.full(N, 3.5),
        "ties everywhere": rng.integers(-3, 4, N).astype(float),
        "sorted": np.sort(normal),
        "reversed": np.sort(normal)[::-1].copy(),
        "only negative, a third zeros": np.where(np.arange(N) < N // 3, 0.0, -np.abs(normal)),
        "only positive": np.abs(normal) + 1.0,
        "mostly -0.0 and tiny": negative_zeros,
        "infinities": infinite,
        "a few outliers": outliers,
        "subnormals": normal * 1e-42,
    }


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_bracketing_equals_a_full_selection(dtype: type) -> None:
    rng = np.random.default_rng(7)
    ranks = quantile_ranks(N)
    for name, values in cases(rng).items():
        values = values.astype(dtype)
        expected = np.partition(values, ranks)[ranks]
        found = order_statistics(values, ranks)
        assert found.dtype == values.dtype and np.array_equal(found, expected), name


def test_any_ranks_on_many_random_arrays_without_a_full_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    arrays = []
    for _ in range(30):
        n = int(rng.integers(DIRECT, 4 * DIRECT))
        values = (rng.standard_normal(n) * rng.uniform(1e-6, 1e3)).astype(np.float32)
        values[rng.random(n) < rng.uniform(0, 0.8)] = 0.0
        ranks = np.unique(rng.integers(0, n, int(rng.integers(1, 12))))
        arrays.append((values, ranks, np.partition(values, ranks)[ranks]))
    sizes = []
    partition = np.partition
    monkeypatch.setattr(selection.np, "partition", lambda a, kth: sizes.append(a.size) or partition(a, kth))
    for values, ranks, expected in arrays:
        assert np.array_equal(order_statistics(values, ranks), expected)
    assert not set(sizes) & {values.size for values, _, _ in arrays}  # the brackets held every rank


def test_a_bracket_that_misses_is_retried_and_then_replaced_by_a_full_selection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With every bracket placed on the wrong side of its rank, every bracket misses: the retries,
    then the full selection, still give the exact answer."""
    rng = np.random.default_rng(3)
    values = rng.standard_normal(N).astype(np.float32)
    ranks = quantile_ranks(N)
    expected = np.partition(values, ranks)[ranks]
    calls = []
    partition = np.partition

    def counting(a: np.ndarray, kth: object) -> np.ndarray:
        calls.append(a.size)
        return partition(a, kth)

    monkeypatch.setattr(selection, "SPREAD", -3.0)  # edges placed on the wrong side of every rank
    monkeypatch.setattr(selection.np, "partition", counting)
    assert np.array_equal(order_statistics(values, ranks), expected)
    assert N in calls  # the full selection ran


def test_nan_sorts_last_as_in_a_full_selection() -> None:
    values = np.random.default_rng(5).standard_normal(N).astype(np.float32)
    values[::100] = np.nan
    ranks = quantile_ranks(N)
    assert np.array_equal(order_statistics(values, ranks), np.partition(values, ranks)[ranks], equal_nan=True)


def test_exact_quantiles_of_a_large_gradient_like_tensor_equal_numpy_and_torch() -> None:
    """A 392,000-element tensor with a third exact zeros and heavy tails, as the MNIST MLP's
    first-layer gradient: the probe's quantiles equal numpy.quantile and torch.quantile."""
    gen = torch.Generator().manual_seed(0)
    grad = torch.randn(500, 784, generator=gen) * torch.rand(500, 1, generator=gen) ** 4
    grad[:, torch.rand(784, generator=gen) < 0.3] = 0.0
    found = exact_quantiles(grad)
    assert found == pytest.approx(np.quantile(grad.double().numpy(), QUANTILES).tolist(), rel=1e-12, abs=0)
    by_torch = torch.quantile(grad.double().flatten(), torch.tensor(QUANTILES, dtype=torch.float64))
    assert found == pytest.approx(by_torch.tolist(), rel=1e-12, abs=0)
    assert found[3] == 0.0 < found[4]  # the median is one of the exact zeros
