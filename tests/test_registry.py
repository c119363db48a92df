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


def test_a_param_added_later_is_left_out_of_the_resolved_params_at_its_default() -> None:
    """``keyless_defaults``: configs stored before the param existed keep their run keys."""
    reg: Registry = Registry("thing")

    @reg.register("t", keyless_defaults=("added",))
    def thing(*, old: int = 1, added: bool = False) -> None: ...

    assert reg.get("t").validate({}) == {"old": 1}
    assert reg.get("t").validate({"added": True}) == {"old": 1, "added": True}


def test_the_params_added_for_deep_transformers_keep_the_old_keys() -> None:
    from initlab.models import MODELS
    from initlab.schemes import SCHEMES

    assert "normformer" not in MODELS.get("transformer").validate({})
    assert "share" not in SCHEMES.get("rezero").validate({})
    assert SCHEMES.get("ds-init").validate({"variant": "code"}) == {"alpha": 1.0, "variant": "code"}
