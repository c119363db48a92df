"""Building blocks that carry init structure: the residual wrapper and Fixup's scalar bias and multiplier.

``Residual(branch, shortcut, post=...)`` computes ``post(α·shortcut(x) + g·branch(x))``:

- ``g`` is an optional learnable scalar *gain* (``Residual.gain``, None when absent). SkipInit and
  ReZero set it to 0, adding it when the block has none; ``build_model(..., branch_gain=True)`` builds
  it in (initialised to 1) so that every scheme sees the same parameters.
- ``α`` (``Residual.skip_scale``, a plain float, 1 unless a scheme sets it) scales the shortcut, as
  DeepNorm's ``LN(α·x + G(x))`` does. It is a constant of the architecture, not a parameter: it is not
  in the ``state_dict``, so a reloaded model needs the scheme (or the attribute) applied again.
- ``layer`` (1-based) and ``stack`` ("encoder" / "decoder") say where the block sits in a transformer,
  for schemes whose rule depends on the layer index or on the number of layers per stack.

Extra forward arguments (a timestep embedding, an attention mask) are passed on to the branch:
``Residual(branch)(x, emb)`` computes ``post(α·shortcut(x) + g·branch(x, emb))``.

A foreign block that cannot be rewritten gets its gain from :func:`attach_gain`: a real
``nn.Parameter`` registered on the module whose output is the branch's (so the optimizer sees it and
``state_dict`` holds it), applied by a forward hook that multiplies that output, whatever arguments the
module's forward takes. :func:`attach_output_scale` adds a constant factor (a buffer) the same way.

Schemes find the branches, each branch's last layer, the number of blocks L and the layers per branch m
through :func:`initlab.models.branches.residual_branches`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Residual(nn.Module):
    """A residual block ``post(α·shortcut(x) + g·branch(x))``; see the module docstring."""

    def __init__(
        self,
        branch: nn.Module,
        shortcut: nn.Module | None = None,
        *,
        post: nn.Module | None = None,
        gain: float | None = None,
        layer: int | None = None,
        stack: str | None = None,
    ):
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.post = post if post is not None else nn.Identity()
        self.gain: nn.Parameter | None
        self.register_parameter("gain", None if gain is None else nn.Parameter(torch.tensor(float(gain))))
        self.skip_scale = 1.0
        self.layer = layer
        self.stack = stack
        self.branch_removed = False

    def ensure_gain(self) -> nn.Parameter:
        """The branch gain, created (as 1, on this block's device) if the block has none yet."""
        if self.gain is None:
            reference = next(self.parameters(), None)
            device = reference.device if reference is not None else None
            self.gain = nn.Parameter(torch.ones((), device=device))
        return self.gain

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        skip = self.shortcut(x)
        if self.skip_scale != 1.0:
            skip = skip * self.skip_scale
        if self.branch_removed:
            return self.post(skip)
        out = self.branch(x, *args, **kwargs)
        if self.gain is not None:
            out = out * self.gain
        return self.post(skip + out)

    def extra_repr(self) -> str:
        parts = [f"gain={'yes' if self.gain is not None else 'no'}"]
        if self.skip_scale != 1.0:
            parts.append(f"skip_scale={self.skip_scale:.4g}")
        if self.layer is not None:
            parts.append(f"layer={self.layer}, stack={self.stack}")
        return ", ".join(parts)


class ScalarBias(nn.Module):
    """``x + b`` with one learnable scalar ``b`` (Fixup's scalar bias, initialised to 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias


class ScalarMultiplier(nn.Module):
    """``x · s`` with one learnable scalar ``s`` (Fixup's per-branch multiplier, initialised to 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class PadShortcut(nn.Module):
    """He et al.'s option-A shortcut: keep every ``stride``-th pixel, then append zero channels.

    ``x[:, :, ::s, ::s]`` followed by ``extra`` all-zero channels, as in the Fixup reference
    (``AvgPool2d(1, stride)`` then ``cat((x, zeros_like(x)), 1)``). It has no parameters.
    """

    def __init__(self, stride: int, extra: int):
        super().__init__()
        self.stride, self.extra = stride, extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        if self.extra:
            zeros = x.new_zeros(x.shape[0], self.extra, *x.shape[2:])
            x = torch.cat((x, zeros), 1)
        return x

    def extra_repr(self) -> str:
        return f"stride={self.stride}, extra={self.extra}"


GAIN_ATTR = "initlab_gain"
SCALE_ATTR = "initlab_output_scale"
_HOOKED_ATTR = "_initlab_output_hook"


def _scale_output(module: nn.Module, args: Any, output: Any) -> Any:
    """Forward hook: the output (or the first element of a tuple output) times gain and scale.

    A module-level function reading the factors from ``module``, so that a deep copy of the model
    (its hooks are copied by reference) multiplies by the copy's own parameters.
    """
    factor = None
    for attr in (GAIN_ATTR, SCALE_ATTR):
        value = getattr(module, attr, None)
        if value is not None:
            factor = value if factor is None else factor * value
    if factor is None:
        return output
    if isinstance(output, tuple):
        return (output[0] * factor, *output[1:])
    return output * factor


def _hook_output(module: nn.Module) -> None:
    if not getattr(module, _HOOKED_ATTR, False):
        module.register_forward_hook(_scale_output)
        setattr(module, _HOOKED_ATTR, True)


def _device_of(module: nn.Module) -> torch.device | None:
    reference = next(module.parameters(), None)
    return reference.device if reference is not None else None


def attach_gain(module: nn.Module, shared: nn.Parameter | None = None) -> nn.Parameter:
    """A learnable scalar gain on ``module``'s output (created as 1 if it has none), via a forward hook.

    The gain is ``module.initlab_gain``, a registered ``nn.Parameter``; ``shared`` (another branch's
    gain) is registered instead, so that both outputs are multiplied by one parameter. Apply it before
    creating the optimizer.
    """
    gain = getattr(module, GAIN_ATTR, None)
    if gain is None or shared is not None:
        gain = shared if shared is not None else nn.Parameter(torch.ones((), device=_device_of(module)))
        module.register_parameter(GAIN_ATTR, gain)
        _hook_output(module)
    return gain


def attach_output_scale(module: nn.Module, value: float) -> torch.Tensor:
    """A constant factor on ``module``'s output (a buffer, ``module.initlab_output_scale``), via a hook."""
    scale = getattr(module, SCALE_ATTR, None)
    if scale is None:
        module.register_buffer(SCALE_ATTR, torch.ones((), device=_device_of(module)))
        scale = getattr(module, SCALE_ATTR)
        _hook_output(module)
    return scale.fill_(value)
