"""Fixtures for the data tests: an empty default cache, and hiding installed data packages."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from importlib.machinery import ModuleSpec

import pytest


@pytest.fixture(autouse=True, scope="session")
def empty_default_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point $INITLAB_DATA at an empty folder, so a developer's own cache never changes what tests see."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INITLAB_DATA", str(tmp_path_factory.mktemp("initlab-cache")))
        yield


@pytest.fixture
def hide_packages(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``hide_packages("pureml", ...)`` makes those top-level packages look uninstalled to find_spec."""
    hidden: set[str] = set()
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name in hidden else real_find_spec(name, package)

    def hide(*names: str) -> None:
        hidden.update(names)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return hide
