"""Grouping rows within a tolerance: the fast projection method agrees with the all-pairs definition."""

from __future__ import annotations

import pytest
import torch

from initlab.probes.grouping import group_rows, group_sizes


def all_pairs(x: torch.Tensor, rtol: float, atol: float) -> list[set[int]]:
    """Groups by the definition, checking every pair against each group's first row."""
    x = x.double()
    groups: list[set[int]] = []
    left = list(range(len(x)))
    while left:
        rep = left[0]
        close = ((x[left] - x[rep]).abs() <= atol + rtol * torch.maximum(x[left].abs(), x[rep].abs())).all(1)
        groups.append({i for i, c in zip(left, close.tolist(), strict=True) if c})
        left = [i for i, c in zip(left, close.tolist(), strict=True) if not c]
    return groups


def as_sets(labels: torch.Tensor) -> list[set[int]]:
    return [set((labels == g).nonzero().flatten().tolist()) for g in torch.unique(labels)]


@pytest.mark.parametrize("seed", range(5))
def test_planted_groups_are_found_exactly(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(12, 40, generator=gen)
    which = torch.randint(0, 12, (200,), generator=gen)
    x = base[which].clone()
    x[::7] *= 1 + 1e-8 * torch.randn(x[::7].shape, generator=gen)  # within rtol 1e-6 of their group
    x[::11, 3] *= 1 + 1e-3  # outside it: their own groups
    rtol, atol = 1e-6, 0.0
    found = sorted(map(sorted, as_sets(group_rows(x, rtol, atol))))
    assert found == sorted(map(sorted, all_pairs(x, rtol, atol)))
    labels = group_rows(x, rtol, atol)
    assert torch.equal(
        group_sizes(labels), torch.tensor([int((labels == labels[i]).sum()) for i in range(200)])
    )


def test_exact_zeros_and_edge_cases() -> None:
    assert group_rows(torch.zeros(5, 3), 0.0, 0.0).tolist() == [0] * 5
    assert group_rows(torch.zeros(1, 3), 0.0, 0.0).tolist() == [0]
    assert group_rows(torch.zeros(3, 0), 0.0, 0.0).tolist() == [0, 0, 0]
    x = torch.tensor([[1.0, 0.0], [1.0, 1e-30], [1.0, 0.0]])
    assert group_rows(x, 1e-6, 0.0).tolist() == [0, 1, 0]  # 1e-30 is not 0 without atol
    assert group_rows(x, 1e-6, 1e-20).tolist() == [0, 0, 0]
    nan = torch.tensor([[float("nan")], [float("nan")], [1.0]])
    assert group_rows(nan, 1e-6, 0.0).tolist() == [0, 1, 2]  # NaN equals nothing


def test_many_wide_rows_that_differ_only_outside_a_few_columns() -> None:
    """600 rows of 300 columns (the projection path, first over a subset of columns): planted groups
    whose members differ in one column each, rows with inf or NaN, and a non-transitive chain
    (a ≈ b, b ≈ c, a ≉ c) — the groups are those of the definition, applied from the lowest row."""
    gen = torch.Generator().manual_seed(1)
    base = torch.randn(40, 300, generator=gen)
    x = base[torch.randint(0, 40, (600,), generator=gen)].clone()
    column = torch.randint(0, 300, (600,), generator=gen)
    moved = torch.arange(600) % 3 == 0
    x[moved, column[moved]] += 1e-3  # one column apart: their own groups, wherever that column is
    x[5, 7], x[6, 8], x[9, 9] = float("inf"), float("nan"), float("-inf")
    x[10:13] = x[10]
    x[11, 0] = x[10, 0] * (1 + 0.9e-6)
    x[12, 0] = x[10, 0] * (1 + 1.8e-6)  # within rtol of row 11, not of row 10
    rtol, atol = 1e-6, 0.0
    labels = group_rows([x[:, :-1], x[:, -1:]], rtol, atol)
    finite = [i for i in range(600) if i not in (5, 6, 9)]  # all_pairs needs rows equal to themselves
    expected = [{finite[i] for i in group} for group in all_pairs(x[finite], rtol, atol)] + [{5}, {6}, {9}]
    assert sorted(map(sorted, as_sets(labels))) == sorted(map(sorted, expected))
    assert labels[11] == 10 and labels[12] == 12 and {int(labels[i]) for i in (5, 6, 9)} == {5, 6, 9}


def test_identical_wide_rows_form_one_group_and_zero_rows_too() -> None:
    row = torch.randn(1, 500, generator=torch.Generator().manual_seed(2))
    assert group_rows(row.expand(300, 500), 0.0, 0.0).tolist() == [0] * 300
    distinct_biases = torch.randn(300, 1, generator=torch.Generator().manual_seed(3))
    labels = group_rows([torch.zeros(300, 500), distinct_biases], 1e-6, 0.0)
    assert labels.tolist() == list(range(300))  # zero weights, random biases: all distinct
