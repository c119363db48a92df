"""Which parameters belong to which unit, found by following a traced forward pass (any module graph).

A *unit* is an output row of a Linear layer or an output channel of a Conv layer (a *producer*).
Starting from each producer's output, every later op of the trace (:mod:`initlab.probes.trace`) is
followed with a *label map* (kept on the CPU): a tensor of the op's output shape that holds, at each
position, the global id of the unit that position carries (-1: a signal that is no unit, -2: a constant
such as the zero channels a padded shortcut adds). The analysis records, for every unit,

* its incoming slices: the producer's weight row and bias (and its group, for grouped convs);
* its per-unit slices between the producer and the next weight layers: BatchNorm/LayerNorm γ and β,
  per-channel scales or biases, any constant tensor it is combined with elementwise;
* its outgoing slices: the input columns (Linear) or input channels (Conv) of every weight layer that
  reads it, after flatten, pooling, reshapes and concatenation;
* the units it is *tied* to: an elementwise sum or product of two signals (a residual connection)
  ties the unit at each position of one to the unit at the same position of the other, so a swap must
  move both together (union-find over unit ids);
* what *breaks* it: dropout, feeding the model's output (the loss treats each output differently),
  being combined with a signal that is not a unit of any layer (a skip from the raw input), a
  reduction or normalisation across units that is not symmetric, and any op this module does not know
  (reported by name: the analysis is conservative).

:class:`UnitGraph` keeps this structure; :meth:`UnitGraph.signatures` reads the current values of
every slice (and of the optimizer's per-parameter state) so that the symmetry probe can compare units.
The structure comes from one pass, so a model whose graph changes between passes (data-dependent
control flow) is analysed as that pass ran. Constant positions that concatenation or padding put next
to units (-2) are taken as the same for every unit: a padded shortcut adds zeros.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from initlab.probes.trace import Op, Trace, tensors_in

PRODUCERS = {"linear", "conv1d", "conv2d", "conv3d"}
UNARY = {
    "relu", "relu6", "tanh", "sigmoid", "gelu", "elu", "selu", "celu", "silu", "mish", "leaky_relu",
    "softplus", "hardtanh", "hardswish", "hardsigmoid", "hardshrink", "softshrink", "logsigmoid",
    "softsign", "tanhshrink", "threshold", "abs", "neg", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt",
    "square", "sin", "cos", "erf", "sign", "clamp", "clip", "reciprocal", "positive", "floor", "ceil",
    "round", "trunc", "isfinite", "isnan", "logical_not", "nan_to_num",
}  # fmt: skip
BINARY = {"add", "sub", "rsub", "mul", "div", "true_divide", "pow", "maximum", "minimum", "where", "lerp",
          "gt", "ge", "lt", "le", "eq", "ne", "logical_and", "logical_or", "fmod", "remainder"}  # fmt: skip
DROPOUT = {
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "rrelu",
}
SAME = {"to", "float", "double", "half", "bfloat16", "type", "type_as", "contiguous", "clone", "detach",
        "cpu", "cuda", "requires_grad"}  # fmt: skip
#: Ops whose result depends on their input's shape or dtype only: a constant, never a unit.
CONSTANT_OPS = {"zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "new_zeros",
            "new_ones", "new_full", "new_empty", "new_tensor", "size", "numel", "dim"}  # fmt: skip
SHAPE = {
    "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "permute", "transpose", "t",
    "squeeze", "unsqueeze", "expand", "expand_as", "getitem", "narrow", "select", "chunk", "split",
    "unbind", "movedim", "moveaxis", "swapaxes", "swapdims", "roll", "repeat", "cat", "concat", "stack",
    "flip", "tile", "pad",
}  # fmt: skip
POOLS = ("max_pool", "avg_pool", "adaptive_avg_pool", "adaptive_max_pool", "lp_pool", "interpolate",
         "upsample", "pixel")  # fmt: skip
CHANNEL_NORMS = {"batch_norm", "instance_norm", "group_norm"}
REDUCTIONS = {"mean", "sum", "amax", "amin", "logsumexp", "std", "var", "norm", "prod", "nansum", "nanmean"}
FEATURE_NORMS = {"layer_norm", "rms_norm", "softmax", "log_softmax", "normalize"}
LABEL = torch.int32
SIGNAL, CONSTANT_VALUE = -1, -2  # label values of positions that carry no unit


@dataclass
class Block:
    """Per-unit slices of one tensor that a swap of units must exchange.

    ``tensor.reshape(shape)`` is indexed along ``axis`` by each unit's ``positions``; :meth:`values`
    returns one row per unit. ``param`` is the parameter the slices belong to (for optimizer state).
    """

    what: str
    tensor: torch.Tensor
    shape: tuple[int, ...]
    axis: int
    positions: dict[int, list[int]] = field(default_factory=dict)
    param: nn.Parameter | None = None

    def add(self, unit: int, positions: Iterable[int]) -> None:
        self.positions.setdefault(unit, []).extend(int(p) for p in positions)

    def values(self, units: Sequence[int], tensor: torch.Tensor | None = None) -> torch.Tensor:
        """Rows ``(len(units), d)``: the slices of ``units`` in ``tensor`` (default: the block's own)."""
        source = (self.tensor if tensor is None else tensor).detach().reshape(self.shape)
        index = torch.tensor([self.positions[u] for u in units], device=source.device)
        picked = source.index_select(self.axis, index.flatten()).movedim(self.axis, 0)
        return picked.reshape(len(units), -1)


@dataclass
class Producer:
    """A weight layer whose output rows/channels are units: ids ``base .. base + size - 1``."""

    name: str
    base: int
    size: int
    weight: nn.Parameter


class UnitGraph:
    """The units of every producer, their slices, ties and breakers (see the module docstring)."""

    def __init__(self, model: nn.Module, trace: Trace):
        self.producers: dict[str, Producer] = {}
        self.blocks: list[Block] = []
        self._parent: list[int] = []
        self._broken: dict[int, str] = {}
        self._owner = {
            id(p): (module_name, pname, module)
            for module_name, module in model.named_modules()
            for pname, p in module.named_parameters(recurse=False)
        }
        self._labels: dict[int, torch.Tensor] = {}
        self._derived: set[int] = set()
        for t in tensors_in(trace.inputs):
            self._labels[id(t)] = _no_units(t)
        for op in trace.ops:
            self._follow(op)
        for t in tensors_in(trace.output):
            self._break(self._label(t), "feeds the model's output (the loss treats each output differently)")
        del self._labels, self._derived
        for block in self.blocks:  # a tied unit's slices are its root's: a swap moves them together
            by_root: dict[int, list[int]] = {}
            for unit in sorted(block.positions):
                by_root.setdefault(self.root(unit), []).extend(block.positions[unit])
            block.positions = by_root

    # -- union-find -------------------------------------------------------------------------------

    def root(self, unit: int) -> int:
        parent = self._parent
        while parent[unit] != unit:
            parent[unit] = parent[parent[unit]]
            unit = parent[unit]
        return unit

    def _union(self, a: int, b: int) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            keep, gone = min(ra, rb), max(ra, rb)
            self._parent[gone] = keep
            if gone in self._broken:
                self._broken.setdefault(keep, self._broken.pop(gone))

    def broken(self, unit: int) -> str | None:
        """Why ``unit`` cannot stay tied to another unit, or None."""
        return self._broken.get(self.root(unit))

    def _break(self, labels: torch.Tensor | None, reason: str) -> None:
        if labels is None:
            return
        for unit in torch.unique(labels[labels >= 0]).tolist():
            self._broken.setdefault(self.root(unit), reason)

    # -- reading values -----------------------------------------------------------------------------

    def units_of(self, layer: str) -> list[int]:
        producer = self.producers[layer]
        return list(range(producer.base, producer.base + producer.size))

    def signatures(
        self, units: Sequence[int], optimizer: torch.optim.Optimizer | None = None
    ) -> list[tuple[str, torch.Tensor]]:
        """``(what, rows)`` for every block that holds all of ``units``' roots: the current values of
        their slices (and of the optimizer's state of the same shape, e.g. momentum, Adam moments).

        Units whose roots appear in different blocks are not interchangeable; callers compare only
        units with the same :meth:`structure`."""
        roots = [self.root(u) for u in units]
        out = []
        for block in self.blocks:
            if not all(r in block.positions for r in roots):
                continue
            out.append((block.what, block.values(roots)))
            state = (
                optimizer.state.get(block.param, {})
                if optimizer is not None and block.param is not None
                else {}
            )
            for key in sorted(state):
                value = state[key]
                if isinstance(value, torch.Tensor) and value.shape == block.param.shape:
                    out.append((f"{block.what}, optimizer {key}", block.values(roots, value)))
        return out

    def structure(self, unit: int) -> tuple[tuple[int, int], ...]:
        """Which blocks hold ``unit``'s root, and with how many positions: units are comparable only
        when their structures are equal."""
        root = self.root(unit)
        return tuple((i, len(b.positions[root])) for i, b in enumerate(self.blocks) if root in b.positions)

    # -- following the trace ------------------------------------------------------------------------

    def _label(self, t: torch.Tensor) -> torch.Tensor | None:
        return self._labels.get(id(t))

    def _set(self, t: torch.Tensor, labels: torch.Tensor) -> None:
        self._labels[id(t)] = labels

    def _new_units(self, module_name: str, weight: nn.Parameter) -> Producer:
        producer = self.producers.get(module_name)
        if producer is None:
            size = weight.shape[0]
            producer = Producer(module_name, len(self._parent), size, weight)
            self._parent.extend(range(producer.base, producer.base + size))
            self.producers[module_name] = producer
        return producer

    def _follow(self, op: Op) -> None:
        inputs = tensors_in((op.args, op.kwargs))
        outputs = tensors_in(op.out)
        if not outputs:
            return
        name = op.name
        first = op.args[0] if op.args and isinstance(op.args[0], torch.Tensor) else None
        tainted = [t for t in inputs if id(t) in self._labels]
        follows_first = name in SAME or (name in SHAPE and name not in ("cat", "concat", "stack"))
        if (
            not tainted
            or name in CONSTANT_OPS
            or (follows_first and (first is None or id(first) not in self._labels))
        ):
            if any(id(t) in self._owner or id(t) in self._derived for t in inputs):
                self._derived.update(id(t) for t in outputs)
            return
        labeled = [t for t in tainted if bool((self._labels[id(t)] >= 0).any())]
        if name in PRODUCERS:
            self._producer(op, labeled)
        elif not labeled:
            for t in outputs:
                self._set(t, _no_units(t))
        elif name in UNARY or name in BINARY:
            self._elementwise(op, inputs, tainted)
        elif name in DROPOUT:
            p = op.arg(1, "p", 0.5)
            if name == "rrelu" or p > 0:
                self._break(self._label(first), f"passes through {name} (a random mask per unit)")
            self._set(outputs[0], self._label(first))
        elif name in SAME:
            for t in outputs:
                self._set(t, self._label(first))
        elif name in SHAPE:
            self._shape(op, outputs)
        elif name.startswith(POOLS):
            self._per_channel(op, outputs, params=())
        elif name in CHANNEL_NORMS:
            self._channel_norm(op, outputs)
        elif name in FEATURE_NORMS:
            self._feature_norm(op, outputs)
        elif name in REDUCTIONS:
            self._reduction(op, outputs)
        else:
            for t in labeled:
                self._break(
                    self._label(t), f"passes through {name}, which the symmetry analysis does not know"
                )
            for t in outputs:
                self._set(t, _no_units(t))

    def _producer(self, op: Op, labeled: list[torch.Tensor]) -> None:
        x, weight, bias = op.args[0], op.arg(1, "weight"), op.arg(2, "bias")
        out = op.out
        owner = self._owner.get(id(weight))
        if owner is None:
            if labeled:
                self._break(self._label(x), f"read by {op.name} with a weight computed in the forward pass")
            self._set(out, _no_units(out))
            return
        module_name = owner[0]
        groups = 1 if op.name == "linear" else op.arg(6, "groups", 1)
        if labeled:
            self._consumer(module_name, weight, self._label(x), op.name == "linear", groups)
        known = module_name in self.producers
        producer = self._new_units(module_name, weight)
        ids = torch.arange(producer.base, producer.base + producer.size, dtype=LABEL)
        shape = ids.shape if op.name == "linear" else (-1, *([1] * (out.dim() - 2)))
        self._set(out, ids.view(shape).expand(out.shape))
        if known:  # a module called twice: its units and their incoming slices are known already
            return
        self._rows(f"{module_name}.weight (incoming)", weight, producer)
        if isinstance(bias, nn.Parameter):
            self._rows(f"{module_name}.bias", bias, producer)
        if groups > 1:
            group_of = torch.arange(producer.size) // (producer.size // groups)
            self._rows(f"{module_name} group", group_of.float(), producer)

    def _rows(self, what: str, tensor: torch.Tensor, producer: Producer) -> None:
        """A block holding row ``u`` of ``tensor`` for each unit ``u`` of ``producer``."""
        param = tensor if isinstance(tensor, nn.Parameter) else None
        block = Block(what, tensor, (producer.size, -1), 0, param=param)
        for u in range(producer.size):
            block.add(producer.base + u, [u])
        self.blocks.append(block)

    def _consumer(
        self, module_name: str, weight: nn.Parameter, labels: torch.Tensor, linear: bool, groups: int
    ) -> None:
        """Record the outgoing slices of the units a weight layer reads: its input columns (Linear) or
        input channels (Conv; for a grouped conv, only the output channels of the channel's group)."""
        sample = labels[0]
        per_feature = (
            sample.reshape(-1, sample.shape[-1]) if linear else sample.reshape(sample.shape[0], -1).T
        )
        if not bool((per_feature == per_feature[:1]).all()):
            axis = "feature" if linear else "channel"
            self._break(labels, f"read by {module_name} along more than its input {axis} axis")
            return
        what = f"{module_name}.weight (outgoing)"
        if groups == 1:
            block = Block(what, weight, (weight.shape[0], weight.shape[1], -1), 1, param=weight)
            for f, unit in enumerate(per_feature[0].tolist()):
                if unit >= 0:
                    block.add(unit, [f])
            self.blocks.append(block)
            return
        out_per_group, in_per_group = weight.shape[0] // groups, weight.shape[1]
        block = Block(what, weight, (-1,), 0, param=weight)
        group_block = Block(f"{module_name} input group", torch.arange(groups).float(), (groups, 1), 0)
        flat = torch.arange(weight.numel()).view(weight.shape[0], in_per_group, -1)
        for c, unit in enumerate(per_feature[0].tolist()):
            if unit >= 0:
                g = c // in_per_group
                block.add(
                    unit, flat[g * out_per_group : (g + 1) * out_per_group, c - g * in_per_group].flatten()
                )
                group_block.add(unit, [g])
        self.blocks += [block, group_block]

    def _elementwise(self, op: Op, inputs: list[torch.Tensor], tainted: list[torch.Tensor]) -> None:
        out = tensors_in(op.out)[0]
        shape = out.shape
        labels = self._label(tainted[0]).expand(shape).clone()
        for other in tainted[1:]:
            theirs = self._label(other).expand(shape)
            both = (labels >= 0) & (theirs >= 0) & (labels != theirs)
            if bool(both.any()):
                pairs = torch.unique(torch.stack([labels[both], theirs[both]], dim=1), dim=0)
                for a, b in pairs.tolist():
                    self._union(a, b)
            lone = ((labels >= 0) & (theirs == SIGNAL)) | ((labels == SIGNAL) & (theirs >= 0))
            if bool(lone.any()):
                self._break(
                    torch.where(labels >= 0, labels, theirs)[lone],
                    f"combined by {op.name} with a signal that is not a unit of any layer (e.g. a skip "
                    "from the input)",
                )
            labels = torch.where(
                labels >= 0, labels, torch.where(theirs >= 0, theirs, labels.maximum(theirs))
            )
        for const in inputs:
            if id(const) in self._labels or const.numel() <= 1:
                continue
            if id(const) in self._derived:
                self._break(labels, f"combined by {op.name} with a tensor computed from parameters")
                continue
            self._constant(op, const, labels)
        self._set(out, labels)

    def _constant(self, op: Op, const: torch.Tensor, labels: torch.Tensor) -> None:
        """A constant tensor broadcast against units: its values on each unit are per-unit slices."""
        owner = self._owner.get(id(const))
        what = f"{owner[0]}.{owner[1]}" if owner else f"a constant of {op.name} in {op.module or 'the model'}"
        try:
            index = torch.arange(const.numel()).view(const.shape).expand(labels.shape)[0]
        except RuntimeError:
            self._break(labels, f"combined by {op.name} with a tensor the analysis cannot align")
            return
        param = const if owner else None
        block = Block(f"{what} (per unit)", const if owner else const.detach().clone(), (-1,), 0, param=param)
        self._add_positions(block, labels[0], index)
        self.blocks.append(block)

    @staticmethod
    def _add_positions(block: Block, labels: torch.Tensor, index: torch.Tensor) -> None:
        flat_labels, flat_index = labels.flatten(), index.flatten()
        for unit in torch.unique(flat_labels[flat_labels >= 0]).tolist():
            block.add(unit, torch.unique(flat_index[flat_labels == unit]).tolist())

    def _shape(self, op: Op, outputs: list[torch.Tensor]) -> None:
        """Move labels as the op moves elements: apply the op itself to the label maps."""

        def swap(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                if id(value) in self._labels:
                    return self._label(value).contiguous()
                return torch.full(value.shape, CONSTANT_VALUE, dtype=LABEL)
            if isinstance(value, (list, tuple)):
                return type(value)(swap(v) for v in value)
            return value

        args, kwargs = swap(op.args), {k: swap(v) for k, v in op.kwargs.items()}
        if op.name == "pad":
            if kwargs.get("mode", args[2] if len(args) > 2 else "constant") != "constant":
                self._break(self._label(op.args[0]), "passes through a non-constant pad")
            kwargs = {**kwargs, "value": CONSTANT_VALUE}
            args = args[:2]
        if op.name == "getitem":  # an index tensor is an index, not data: keep it (on the labels' CPU)
            args = (args[0], _on_cpu(op.args[1]))
        for t, labels in zip(outputs, tensors_in(op.func(*args, **kwargs)), strict=False):
            self._set(t, labels)

    def _channel_labels(self, op: Op, labels: torch.Tensor) -> torch.Tensor | None:
        """The unit of each channel (dim 1) when labels do not vary within a channel, else None."""
        per_channel = labels[0].reshape(labels.shape[1], -1)
        if bool((per_channel == per_channel[:, :1]).all()):
            return per_channel[:, 0]
        self._break(labels, f"passes through {op.name} with units that vary within a channel")
        return None

    def _per_channel(self, op: Op, outputs: list[torch.Tensor], params: Sequence[Any]) -> torch.Tensor | None:
        """An op that acts on each channel (dim 1) alike: labels stay with their channel."""
        labels = self._label(op.args[0])
        channels = self._channel_labels(op, labels)
        for t in outputs:
            if channels is None:
                self._set(t, _no_units(t))
            else:
                self._set(t, channels.view(1, -1, *([1] * (t.dim() - 2))).expand(t.shape))
        if channels is not None:
            for param in params:
                if isinstance(param, torch.Tensor) and param.numel() == len(channels):
                    self._constant(op, param, channels.view(1, -1).expand(2, -1))
        return channels

    def _channel_norm(self, op: Op, outputs: list[torch.Tensor]) -> None:
        if op.name == "batch_norm":
            weight, bias = op.arg(3, "weight"), op.arg(4, "bias")
            training = op.arg(5, "training", False)
            stats = () if training else (op.arg(1, "running_mean"), op.arg(2, "running_var"))
            self._per_channel(op, outputs, (weight, bias, *stats))
        elif op.name == "instance_norm":
            self._per_channel(op, outputs, (op.arg(3, "weight"), op.arg(4, "bias")))
        else:  # group_norm(input, num_groups, weight, bias): only channels in one group may swap
            num_groups = op.arg(1, "num_groups")
            channels = self._per_channel(op, outputs, (op.arg(2, "weight"), op.arg(3, "bias")))
            if channels is not None:
                group_of = torch.arange(len(channels)) // (len(channels) // num_groups)
                self._constant(op, group_of.float(), channels.view(1, -1).expand(2, -1))

    def _feature_norm(self, op: Op, outputs: list[torch.Tensor]) -> None:
        """Normalisations over trailing dims (layer_norm) or one dim (softmax): equivariant when every
        normalised slice holds the same units in the same places."""
        x = op.args[0]
        labels = self._label(x)
        if op.name in ("layer_norm", "rms_norm"):
            dims = list(range(x.dim() - len(op.arg(1, "normalized_shape")), x.dim()))
        else:
            dim = op.arg(2, "dim", 1) if op.name == "normalize" else op.arg(1, "dim", -1)
            dims = [dim % x.dim()]
        if not _depends_only_on(labels, dims):
            self._break(labels, f"passes through {op.name} with units that differ between its slices")
        self._set(outputs[0], labels)
        if op.name in ("layer_norm", "rms_norm"):
            for param in (op.arg(2, "weight"), op.arg(3, "bias") if op.name == "layer_norm" else None):
                if isinstance(param, torch.Tensor) and param.numel() > 1:
                    self._constant(op, param, labels)

    def _reduction(self, op: Op, outputs: list[torch.Tensor]) -> None:
        """A reduction keeps units it does not mix; one that mixes them is symmetric (harmless) only
        when every reduced slice holds the same units in the same places, e.g. a mean over features."""
        x = op.args[0]
        labels = self._label(x)
        dim = op.arg(1, "dim")
        dims = (
            list(range(x.dim()))
            if dim is None
            else [d % x.dim() for d in ((dim,) if isinstance(dim, int) else dim)]
        )
        keepdim = op.arg(2, "keepdim", False)
        keepdim = keepdim if isinstance(keepdim, bool) else False
        out = outputs[0]
        if _depends_only_on(labels, [d for d in range(x.dim()) if d not in dims]):
            reduced = labels.amax(dim=dims, keepdim=keepdim) if dims else labels
            self._set(out, reduced if reduced.shape == out.shape else _no_units(out))
            return
        if not _depends_only_on(labels, [0, *dims]):
            self._break(labels, f"mixed with other units by {op.name}")
        self._set(out, _no_units(out))


def _on_cpu(value: Any) -> Any:
    """``value`` with every tensor in it moved to the CPU, where label maps live."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def _no_units(t: torch.Tensor) -> torch.Tensor:
    """A label map saying that no position of ``t`` carries a unit."""
    return torch.full(t.shape, SIGNAL, dtype=LABEL)


def _depends_only_on(labels: torch.Tensor, dims: Sequence[int]) -> bool:
    """Whether ``labels`` is constant along every dim not in ``dims``."""
    reference = labels
    for d in range(labels.dim()):
        if d not in dims:
            reference = reference.narrow(d, 0, 1)
    return bool((labels == reference.expand(labels.shape)).all())
