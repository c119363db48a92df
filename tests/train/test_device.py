"""Device names: what exists on the machine is accepted, anything else is one clear error."""

from __future__ import annotations

import pytest
import torch

from initlab.errors import ConfigError
from initlab.train.device import resolve_device


def test_cpu_and_auto_resolve_on_any_machine() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_cuda_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"device='cuda' is not available on this machine \(no CUDA\)"):
        resolve_device("cuda")


def test_a_cuda_index_past_the_last_device_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    expected = r"device=.cuda:2. does not exist: this machine has 2 CUDA device\(s\); allowed: .* cuda:1"
    with pytest.raises(ConfigError, match=expected):
        resolve_device("cuda:2")
