"""Record one forward pass op by op, without changing the model, its buffers or any random stream.

``trace_model(model, inputs)`` runs ``model(inputs)`` under a ``TorchFunctionMode`` that logs every
torch function and tensor method the forward calls (``F.linear``, ``F.conv2d``, ``Tensor.__add__``,
``Tensor.flatten``, ...) with its arguments and result, and which module was running it. Because it
follows the actual execution, it works for any module graph and any Python control flow, where
``torch.fx`` would need a traceable forward. Nested calls inside a logged function are not logged
(the mode is off while the function runs), so ``F.linear`` appears once, not as its kernels.

The pass runs under ``no_grad`` on a small batch; the global (and current CUDA) random state is
restored afterwards and every buffer (BatchNorm running statistics) is put back, so a trace in the
middle of training leaves the run's numbers bit for bit as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

_DUNDER = {
    "__gt__": "gt", "__ge__": "ge", "__lt__": "lt", "__le__": "le", "__eq__": "eq", "__ne__": "ne",
    "__and__": "logical_and", "__or__": "logical_or", "__invert__": "logical_not",
    "__add__": "add", "__radd__": "add", "__iadd__": "add",
    "__sub__": "sub", "__rsub__": "sub", "__isub__": "sub",
    "__mul__": "mul", "__rmul__": "mul", "__imul__": "mul",
    "__truediv__": "div", "__rtruediv__": "div", "__itruediv__": "div",
    "__pow__": "pow", "__rpow__": "pow", "__neg__": "neg", "__abs__": "abs", "__getitem__": "getitem",
}  # fmt: skip

_active = 0


def op_name(func: Callable[..., Any]) -> str:
    """A function's name with in-place and operator spellings folded: ``relu_`` and ``__iadd__`` ->
    ``relu`` and ``add``."""
    name = getattr(func, "__name__", None) or str(func)
    if name in _DUNDER:
        return _DUNDER[name]
    if name.endswith("_") and not name.startswith("_"):
        return name[:-1]
    return name


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in ``value``, looking inside lists, tuples and dicts."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


@dataclass
class Op:
    """One logged call: the function, its folded name, its arguments and result, and the innermost
    module (qualified name; "" for the root) that was running when it was called."""

    func: Callable[..., Any]
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    out: Any
    module: str

    def arg(self, index: int, keyword: str, default: Any = None) -> Any:
        """Argument ``index`` if given positionally, else ``keyword``, else ``default``."""
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(keyword, default)


@dataclass
class Trace:
    """The logged forward pass: its input (a tensor, or a tuple of the model's inputs), output and ops,
    and each module's output."""

    inputs: Any
    output: Any
    ops: list[Op] = field(default_factory=list)
    module_outputs: dict[str, Any] = field(default_factory=dict)
    """The output of each module's first call."""


class _Recorder(TorchFunctionMode):
    def __init__(self, trace: Trace, stack: list[str]):
        super().__init__()
        self.trace, self.stack = trace, stack

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        self.trace.ops.append(Op(func, op_name(func), tuple(args), dict(kwargs), out, self.stack[-1]))
        return out


def is_probing() -> bool:
    """True while a probe runs the model for its own measurement (a trace, a Jacobian): other probes'
    hooks skip those passes."""
    return _active > 0


@contextlib.contextmanager
def probing() -> Iterator[None]:
    """Mark a forward pass as a probe's own (see :func:`is_probing`)."""
    global _active
    _active += 1
    try:
        yield
    finally:
        _active -= 1


@contextlib.contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Run a probe's own pass: restore the model's buffers and the global random state on exit."""
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    cuda = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    try:
        with probing(), torch.random.fork_rng(devices=cuda):
            yield
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)


def call_model(model: nn.Module, inputs: Any) -> Any:
    """``model(inputs)``, or ``model(*inputs)`` for a tuple: a task whose model takes several inputs
    (a denoiser's ``(x_t, t)``) hands them to probes as a tuple, in the order the model takes them."""
    return model(*inputs) if isinstance(inputs, tuple) else model(inputs)


def first_samples(inputs: Any, count: int) -> Any:
    """The first ``count`` samples of ``inputs`` (a tensor, or a tuple of them), detached."""
    if isinstance(inputs, tuple):
        return tuple(first_samples(part, count) for part in inputs)
    return inputs[:count].detach()


def trace_model(model: nn.Module, inputs: Any) -> Trace:
    """Run ``model(inputs)`` (``model(*inputs)`` for a tuple) once and log its ops (see the module
    docstring)."""
    trace = Trace(inputs=inputs, output=None)
    stack = [""]
    handles = []

    def enter(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any) -> None:
            stack.append(name)

        return hook

    def leave(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            stack.pop()
            trace.module_outputs.setdefault(name, output)

        return hook

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave(name)))
    try:
        with preserved(model), torch.no_grad(), _Recorder(trace, stack):
            trace.output = call_model(model, inputs)
    finally:
        for handle in handles:
            handle.remove()
    return trace


def residual_blocks(trace: Trace) -> list[str]:
    """Modules that add two signals computed from the input (``x + f(x)``, ``shortcut(x) + f(x)``) in
    their own forward: the residual blocks, found from the trace whatever their class."""
    tainted = {id(t) for t in tensors_in(trace.inputs)}
    blocks: dict[str, None] = {}
    for op in trace.ops:
        inputs = [t for t in tensors_in((op.args, op.kwargs)) if id(t) in tainted]
        if not inputs:
            continue
        tainted.update(id(t) for t in tensors_in(op.out))
        if op.name in ("add", "sub") and len(inputs) >= 2 and op.module:
            blocks[op.module] = None
    return list(blocks)
