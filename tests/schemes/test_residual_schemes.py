"""The residual family: identity blocks at init, Fixup's exact formula, and what each scheme refuses."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from foreign_models import ForeignNet
from initlab.data import load_dataset
from initlab.errors import ConfigError, SchemeError
from initlab.models import (
    Residual,
    ScalarBias,
    ScalarMultiplier,
    branches_removed,
    build_model,
    find_head,
    residual_branches,
)
from initlab.schemes import apply_init
from stats import assert_moments


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_dataset("digits", "train").x[:64]


def block_inputs_and_outputs(
    model: nn.Module, x: torch.Tensor
) -> list[tuple[Residual, torch.Tensor, torch.Tensor]]:
    """Each Residual block with the input it receives and the output it gives on ``x``."""
    seen = []
    hooks = [
        m.register_forward_hook(lambda mod, args, out: seen.append((mod, args[0], out)))
        for m in model.modules()
        if isinstance(m, Residual)
    ]
    model(x)
    for hook in hooks:
        hook.remove()
    return seen


def assert_blocks_are_identities(model: nn.Module, x: torch.Tensor) -> None:
    """Every block returns post(shortcut(x)) exactly; one without a shortcut returns its input exactly."""
    seen = block_inputs_and_outputs(model, x)
    assert seen
    for block, inp, out in seen:
        assert torch.equal(out, block.post(block.shortcut(inp)))
        if isinstance(block.shortcut, nn.Identity) and isinstance(block.post, nn.ReLU | nn.Identity):
            assert torch.equal(
                out, inp
            )  # the block is the identity on what it is fed (inputs ≥ 0 after ReLU)
    with branches_removed(model):
        stripped = model(x)
    assert torch.equal(model(x), stripped)


def resnet(depth: int = 20, **params: object) -> nn.Module:
    return build_model("resnet-cifar", input_shape=(1, 8, 8), depth=depth, **params)


# ---------------------------------------------------------------- Fixup


def test_fixup_blocks_are_identities_and_the_head_is_zero(digits: torch.Tensor) -> None:
    model = apply_init(resnet(norm="none", fixup=True), "fixup", seeded())
    assert_blocks_are_identities(model, digits)
    head = find_head(model)
    assert torch.count_nonzero(head.weight) == 0 and torch.count_nonzero(head.bias) == 0
    assert torch.count_nonzero(model(digits)) == 0
    for module in model.modules():
        if isinstance(module, ScalarBias):
            assert module.bias.item() == 0.0
        if isinstance(module, ScalarMultiplier):
            assert module.scale.item() == 1.0


@pytest.mark.parametrize(("depth", "blocks"), [(20, 9), (110, 54)])
def test_fixup_scales_branch_layers_by_l_to_the_minus_half(depth: int, blocks: int) -> None:
    model = apply_init(resnet(depth, norm="none", fixup=True), "fixup", seeded())
    branches = residual_branches(model)
    assert len(branches) == blocks
    standardized = []
    for branch in branches:
        first, last = branch.layers
        he = math.sqrt(2 / first.weight[0].numel())
        standardized.append((first.weight / (he * blocks**-0.5)).flatten())
        assert torch.count_nonzero(last.weight) == 0
    assert_moments(torch.cat(standardized), 0.0, 1.0)  # W/(√(2/fan_in)·L^(−1/2)) ~ N(0, 1)
    stem = model.stem.conv.weight
    assert_moments(stem / math.sqrt(2 / stem[0].numel()), 0.0, 1.0, sigmas=8)  # He, unscaled


def test_fixup_layers_start_moving_head_first_under_sgd() -> None:
    """Head at step 0; stem, branch ends and the scalar biases after them at step 1; the rest at step 2.

    A branch's multiplier multiplies a zero conv until step 2, so its gradient is 0 before (and tiny then).
    """
    model = apply_init(resnet(20, norm="none", fixup=True), "fixup", seeded())
    data = load_dataset("digits", "train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    first_move: dict[str, int] = {}
    multiplier_grads = []
    for step in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(
            model(data.x[64 * step : 64 * (step + 1)]), data.y[64 * step : 64 * (step + 1)]
        ).backward()
        multiplier_grads.append(model.layer1[0].branch.scale.scale.grad.abs().item())
        optimizer.step()
        for name, p in model.named_parameters():
            if name not in first_move and not torch.equal(p, before[name]):
                first_move[name] = step
    assert first_move["head.fc.weight"] == first_move["head.fc.bias"] == 0
    assert first_move["stem.conv.weight"] == first_move["head.bias.bias"] == 1
    for i in range(3):
        branch = f"layer1.{i}.branch"
        assert first_move[f"{branch}.conv2.weight"] == first_move[f"{branch}.bias2b.bias"] == 1
        assert first_move[f"{branch}.conv1.weight"] == first_move[f"{branch}.bias1b.bias"] == 2
    assert multiplier_grads[:2] == [0.0, 0.0] and 0 < multiplier_grads[2] < 1e-5


def test_fixup_scales_bottlenecks_by_l_to_the_minus_quarter() -> None:
    model = build_model("resnet50-cifar", input_shape=(3, 32, 32), width=8, norm="none", fixup=True)
    apply_init(model, "fixup", seeded())
    standardized = []
    for branch in residual_branches(model):
        for layer in branch.layers[:2]:
            he = math.sqrt(2 / layer.weight[0].numel())
            standardized.append((layer.weight / (he * 16**-0.25)).flatten())
        assert torch.count_nonzero(branch.last.weight) == 0 and torch.count_nonzero(branch.last.bias) == 0
    assert_moments(torch.cat(standardized), 0.0, 1.0)


def test_fixup_fan_out_mode_matches_the_reference() -> None:
    model = apply_init(resnet(110, norm="none", fixup=True), "fixup", seeded(), mode="fan_out")
    weights = [b.layers[0].weight for b in residual_branches(model)]
    z = torch.cat([(w / (math.sqrt(2 / (w.shape[0] * 9)) * 54**-0.5)).flatten() for w in weights])
    assert_moments(z, 0.0, 1.0)


def test_fixup_refuses_batch_norm_and_models_without_its_structure() -> None:
    with pytest.raises(
        SchemeError, match=r"refuses a model with normalization layers: found 19, .*'stem\.bn'"
    ):
        apply_init(resnet(), "fixup", seeded())
    plain = resnet(norm="none")
    with pytest.raises(SchemeError, match=r"needs Fixup's structure .* branch 'layer1\.0' has none"):
        apply_init(plain, "fixup", seeded())
    apply_init(plain, "fixup", seeded(), strict=False)  # the weight rule alone
    assert all(torch.count_nonzero(b.last.weight) == 0 for b in residual_branches(plain))


def test_fixup_on_a_foreign_model_without_norms() -> None:
    model = ForeignNet(norm=lambda c: nn.Identity())
    apply_init(model, "fixup", seeded(), strict=False)
    assert (
        torch.count_nonzero(model.layer1[0].conv2.weight) == 0 and torch.count_nonzero(model.fc.weight) == 0
    )
    with pytest.raises(SchemeError, match=r"found 7, the first at 'layer1\.0\.bn1'"):
        apply_init(ForeignNet(), "fixup", seeded(), strict=False)


# ---------------------------------------------------------------- SkipInit, ReZero, zero-last-*

IDENTITY_CASES = [
    ("skipinit", {"norm": "none"}),
    ("rezero", {"norm": "none"}),
    ("rezero", {"norm": "batch"}),
    ("zero-last-layer", {"norm": "none"}),
    ("zero-last-layer", {"norm": "batch"}),
    ("zero-last-norm", {"norm": "batch"}),
]


@pytest.mark.parametrize(("scheme", "params"), IDENTITY_CASES)
def test_residual_schemes_make_every_block_an_identity(
    scheme: str, params: dict, digits: torch.Tensor
) -> None:
    model = apply_init(resnet(**params), scheme, seeded())
    model.train()
    assert_blocks_are_identities(model, digits)
    model.eval()
    assert_blocks_are_identities(model, digits)


@pytest.mark.parametrize("scheme", ["skipinit", "rezero", "zero-last-layer"])
def test_transformer_blocks_are_identities_without_layer_norm(scheme: str, digits: torch.Tensor) -> None:
    model = build_model("transformer", input_shape=(1, 8, 8), norm="none", depth=3, width=16, heads=2)
    apply_init(model, scheme, seeded())
    assert_blocks_are_identities(model, digits)


def test_skipinit_and_rezero_add_a_zero_gain_the_optimizer_can_train(digits: torch.Tensor) -> None:
    model = resnet(norm="none")
    assert all(m.gain is None for m in model.modules() if isinstance(m, Residual))
    apply_init(model, "rezero", seeded())
    gains = [m.gain for m in model.modules() if isinstance(m, Residual)]
    assert len(gains) == 9 and all(g.item() == 0.0 and g.requires_grad for g in gains)
    assert (
        sum(p.numel() for p in model.parameters())
        == sum(p.numel() for p in resnet(norm="none").parameters()) + 9
    )
    model(digits).logsumexp(1).sum().backward()
    assert all(g.grad is not None and g.grad.item() != 0.0 for g in gains)  # α gets a gradient at step 0
    built = apply_init(resnet(norm="none", branch_gain=True), "skipinit", seeded())
    assert all(m.gain.item() == 0.0 for m in built.modules() if isinstance(m, Residual))


def test_skipinit_refuses_or_removes_batch_norm(digits: torch.Tensor) -> None:
    with pytest.raises(
        SchemeError, match=r"skipinit replaces BatchNorm .* found 19, the first at 'stem\.bn'"
    ):
        apply_init(resnet(), "skipinit", seeded())
    model = apply_init(resnet(), "skipinit", seeded(), norm="remove", zero_head=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert_blocks_are_identities(model, digits)
    assert torch.count_nonzero(find_head(model).weight) == 0


def test_zero_last_norm_zeroes_gamma_and_refuses_models_without_norms() -> None:
    model = apply_init(resnet(), "zero-last-norm", seeded())
    for branch in residual_branches(model):
        assert torch.count_nonzero(branch.norm_after_last.weight) == 0
        assert torch.count_nonzero(branch.last.weight) > 0
    assert torch.all(model.layer1[0].branch.bn1.weight == 1.0)
    with pytest.raises(
        SchemeError, match=r"zero-last-norm needs a normalization layer .* 'layer1\.0' has none"
    ):
        apply_init(resnet(norm="none"), "zero-last-norm", seeded())


def test_foreign_blocks_get_zero_last_norm_and_a_hooked_gain() -> None:
    model = apply_init(ForeignNet(), "zero-last-norm", seeded())
    assert (
        torch.count_nonzero(model.layer1[0].bn2.weight) == 0
        and torch.count_nonzero(model.layer1[2].bn3.weight) == 0
    )
    model = apply_init(ForeignNet(), "rezero", seeded())
    alphas = [
        model.layer1[0].bn2.initlab_gain,
        model.layer1[1].bn2.initlab_gain,
        model.layer1[2].bn3.initlab_gain,
    ]
    assert all(a.item() == 0.0 and a.requires_grad for a in alphas)
    params = {id(p) for p in model.parameters()}
    assert all(id(a) in params for a in alphas)
    assert "layer1.2.bn3.initlab_gain" in model.state_dict()
    x = torch.randn(2, 4, 5, 5)
    for block in model.layer1:
        assert torch.equal(block(x), torch.relu(x))  # relu(0·F(x) + x)
    model(torch.randn(2, 1, 5, 5)).square().sum().backward()
    assert all(a.grad is not None and a.grad.item() != 0.0 for a in alphas)
    skip = apply_init(ForeignNet(), "skipinit", seeded(), norm="remove")  # the gain moves to conv2/conv3
    assert skip.layer1[0].conv2.initlab_gain.item() == 0.0 and skip.layer1[2].conv3.initlab_gain.item() == 0.0
    assert all(torch.equal(block(x), torch.relu(x)) for block in skip.layer1)


def test_the_base_scheme_initialises_the_other_layers() -> None:
    model = apply_init(resnet(110, norm="none"), "zero-last-layer", seeded(), base="xavier-normal")
    square = [
        b.layers[0].weight
        for b in residual_branches(model)
        if b.layers[0].weight.shape[0] == b.layers[0].weight.shape[1]
    ]
    assert_moments(
        torch.cat([(w / math.sqrt(1 / w[0].numel())).flatten() for w in square]), 0.0, 1.0
    )  # Xavier
    other = apply_init(
        resnet(norm="none"), "rezero", seeded(), base="he-normal", base_params={"mode": "fan_out"}
    )
    assert other is not None
    with pytest.raises(
        ConfigError, match=r"base='fixup' must be a layer-wise scheme; allowed: pytorch-default"
    ):
        apply_init(resnet(norm="none"), "rezero", seeded(), base="fixup")
    with pytest.raises(ConfigError, match=r"scheme 'he-normal': mode='fan_avg' is invalid"):
        apply_init(resnet(norm="none"), "skipinit", seeded(), base_params={"mode": "fan_avg"})


def sgd_steps(model: nn.Module, steps: int) -> nn.Module:
    data = load_dataset("digits", "train")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(steps):
        batch = slice(64 * step, 64 * (step + 1))
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(data.x[batch]), data.y[batch]).backward()
        optimizer.step()
    return model


def dead_channels(model: nn.Module, block: nn.Module) -> list[int]:
    """The output channels of ``block`` that are exactly 0 for every digit of a batch."""
    outputs = []
    hook = block.register_forward_hook(lambda module, args, out: outputs.append(out))
    model(load_dataset("digits", "test").x[:128])
    hook.remove()
    return torch.nonzero(outputs[0].amax((0, 2, 3)) == 0).flatten().tolist()


@pytest.mark.parametrize(("scheme", "norm"), [("zero-last-norm", "batch"), ("zero-last-layer", "none")])
def test_option_a_padded_channels_stay_dead_under_a_zero_branch_end(scheme: str, norm: str) -> None:
    """Shortcut 0 + branch 0 = pre-activation 0, and ReLU'(0) = 0: the appended channels never train."""
    model = sgd_steps(apply_init(resnet(8, norm=norm, width=8), scheme, seeded()), 10)
    assert dead_channels(model, model.layer2[0]) == list(range(8, 16))  # 8 -> 16: the appended 8
    assert dead_channels(model, model.layer3[0]) == list(range(8, 32))  # 16 dead in, 16 appended

    def branch_end(model: nn.Module) -> torch.Tensor:
        branch = model.layer2[0].branch
        return branch.bn2.weight if scheme == "zero-last-norm" else branch.conv2.weight

    assert torch.count_nonzero(branch_end(model)[8:]) == 0 and torch.count_nonzero(branch_end(model)[:8]) > 0
    if norm == "batch":  # option B with BN: the projection's output is normalized, so every channel trains
        conv = sgd_steps(apply_init(resnet(8, norm=norm, width=8, shortcut="conv"), scheme, seeded()), 10)
        assert all(torch.count_nonzero(row) > 0 for row in branch_end(conv))


@pytest.mark.parametrize("scheme", ["rezero", "skipinit"])
def test_a_branch_gain_revives_the_padded_channels(scheme: str) -> None:
    model = sgd_steps(apply_init(resnet(8, norm="none", width=8), scheme, seeded()), 10)
    assert dead_channels(model, model.layer2[0]) == [] and dead_channels(model, model.layer3[0]) == []


@pytest.mark.parametrize(
    ("scheme", "name", "params"),
    [
        ("fixup", "resnet-cifar", {"depth": 8, "norm": "none", "fixup": True}),
        ("rezero", "resnet-cifar", {"depth": 8, "norm": "none"}),
        ("zero", "resnet-cifar", {"depth": 8}),
        ("lsuv", "resnet-cifar", {"depth": 8}),
        ("deepnorm", "transformer", {"norm": "post", "depth": 2, "width": 16, "heads": 2}),
        ("pytorch-transformer", "transformer", {"norm": "post", "depth": 2, "width": 16, "heads": 2}),
    ],
)
def test_structural_schemes_give_one_init_on_every_device(scheme: str, name: str, params: dict) -> None:
    """Checked against CUDA when present (on a CPU-only machine both sides run on the CPU)."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = {"data": load_dataset("digits", "train").x[:64]} if scheme == "lsuv" else {}
    models = []
    for target in ("cpu", device):
        torch.manual_seed(0)  # deepnorm keeps the embeddings the model was built with: build both alike
        model = build_model(name, input_shape=(1, 8, 8), **params).to(target)
        models.append(apply_init(model, scheme, seeded(7), **data))
    tolerance = 1e-6 if scheme == "lsuv" else 0.0  # LSUV's scales come from forward passes on the device
    for (key, p), q in zip(models[0].named_parameters(), models[1].parameters(), strict=True):
        assert q.device.type == device and torch.allclose(p, q.cpu(), atol=tolerance, rtol=tolerance), key
