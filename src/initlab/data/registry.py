"""The dataset registry. Loader modules register themselves here on import."""

from __future__ import annotations

from initlab.registry import Registry

DATASETS: Registry = Registry("dataset", injected=("download", "root"))
