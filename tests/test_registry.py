"""Registry params: infinite and NaN numbers are refused wherever they sit, typed or nested."""

from __future__ import annotations

import math
from typing import Any

import pytest

from initlab.errors import ConfigError
from initlab.registry import Registry


def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry("scheme")

    @registry.register("toy")
    def toy(*, scale: float = 1.0, inner: dict[str, Any] | None = None, widths: list[float] = [1.0]) -> None:  # noqa: B006
        """A scheme with a typed float, a free-form dict and a list of floats."""

    return registry


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"scale": math.inf}, "scale=inf"),
        ({"scale": "nan"}, "scale=nan"),
        ({"inner": {"base": {"std": -math.inf}}}, "inner.base.std=-inf"),
        ({"widths": [1.0, math.nan]}, "widths.1=nan"),
    ],
)
def test_non_finite_params_are_refused_naming_where(params: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError, match=rf"^scheme 'toy': {where} is invalid: not a finite number$"):
        _registry().get("toy").validate(params)


def test_finite_params_pass() -> None:
    resolved = _registry().get("toy").validate({"scale": "2", "inner": {"std": 0.5}, "widths": [1e300]})
    assert resolved == {"scale": 2.0, "inner": {"std": 0.5}, "widths": [1e300]}
