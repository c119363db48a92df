"""The init audit on real models: copied layers, packed q/k/v, GPT-2's c_proj, units, tidy rows."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import initlab
from foreign_models import hf_gpt2, mark_gpt2, torch_encoder
from initlab.cli.app import main
from initlab.models import build_model, mark_head
from initlab.schemes import apply_init


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def kinds(result: initlab.auditing.Audit, kind: str) -> list:
    return [f for f in result.findings if f.kind == kind]


# ---------------------------------------------------------------- PyTorch issues 72253 and 166378


def test_the_audit_reports_that_transformer_encoder_layers_are_copies_of_layer_0() -> None:
    result = initlab.audit(torch_encoder(depth=4))
    (copies,) = kinds(result, "copies")
    assert copies.where == "layers"
    assert copies.message.startswith("layers 1–3 of 'layers' are copies of layer 0")
    assert "72253" in copies.message
    row = next(r for r in result.rows if r.name == "layers.2.linear1.weight")
    assert row.note == "copy of layers.0.linear1.weight"
    reinitialised = apply_init(torch_encoder(depth=4), "xavier-uniform", seeded())
    assert kinds(initlab.audit(reinitialised), "copies") == []
    redrawn = initlab.audit(apply_init(torch_encoder(depth=4), "pytorch-default", seeded()))
    assert kinds(redrawn, "copies") == kinds(redrawn, "copy") == []  # the packed attention too
    assert len(kinds(redrawn, "packed-qkv")) == 4  # PyTorch's default: Xavier on the packed matrix


def test_two_copied_layers_and_a_lone_copy_are_worded_as_such() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 3))
    model[1].load_state_dict(model[0].state_dict())
    (copies,) = kinds(initlab.audit(model), "copies")
    assert copies.message.startswith("layer 1 of '' is a copy of layer 0")
    lone = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Linear(4, 4)})
    lone["b"].weight.data.copy_(lone["a"].weight.data)
    (copy,) = kinds(initlab.audit(lone), "copy")
    assert copy.message == "b.weight is an exact copy of a.weight"


def test_packed_qkv_is_flagged_with_its_fan_out_of_3e() -> None:
    result = initlab.audit(torch_encoder(depth=2, width=32))
    flagged = kinds(result, "packed-qkv")
    assert [f.where for f in flagged] == [
        "layers.0.self_attn.in_proj_weight",
        "layers.1.self_attn.in_proj_weight",
    ]
    assert "fan-out 96: 0.125" in flagged[0].message and "(0.1768)" in flagged[0].message
    row = next(r for r in result.rows if r.name == "layers.0.self_attn.in_proj_weight")
    assert (row.fan_in, row.fan_out, row.note) == (32, 96, "packed q/k/v")
    assert row.std == pytest.approx(1 / math.sqrt(2 * 32), rel=6 / math.sqrt(2 * 3072))
    separate = apply_init(torch_encoder(depth=2, width=32), "xavier-uniform", seeded())  # q, k, v each E×E
    assert kinds(initlab.audit(separate), "packed-qkv") == []


# ---------------------------------------------------------------- transformers issue 47458


def skip_c_proj_scaling(model: nn.Module) -> nn.Module:
    """The bug of transformers issue 47458: c_proj drawn at 0.02 like every other weight."""
    with torch.no_grad():
        for block in model.transformer.h:
            block.attn.c_proj.weight.normal_(0.0, 0.02)
            block.mlp.c_proj.weight.normal_(0.0, 0.02)
    return model


def test_assert_init_passes_hugging_face_gpt2_and_catches_it_without_scaled_c_proj() -> None:
    good = initlab.assert_init(mark_gpt2(hf_gpt2(layers=2)), "gpt2")
    c_proj = next(r for r in good.rows if r.name == "transformer.h.0.mlp.c_proj.weight")
    assert c_proj.role == "branch-last" and c_proj.ok
    assert c_proj.expected_std == pytest.approx(0.02 / math.sqrt(4), rel=0.05)
    assert (c_proj.fan_in, c_proj.fan_out) == (256, 64)  # Conv1D stores (in, out): read the right way round
    with pytest.raises(
        AssertionError,
        match=r"4 parameters do not have 'gpt2''s init: transformer\.h\.0\.attn\.c_proj\.weight",
    ) as caught:
        initlab.assert_init(skip_c_proj_scaling(mark_gpt2(hf_gpt2(layers=2))), "gpt2")
    ratios = [float(r) for r in __import__("re").findall(r"ratio ([\d.]+)", str(caught.value))]
    assert ratios and all(abs(r - 2.0) < 0.2 for r in ratios)  # √(2·n_layer) = 2


@pytest.mark.parametrize(
    ("scheme", "model"),
    [
        ("he-normal", lambda: build_model("mlp", input_shape=(1, 8, 8), width=64)),
        ("xavier-uniform", lambda: torch_encoder(depth=2)),
        (
            "fixup",
            lambda: build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none", fixup=True),
        ),
        ("rezero", lambda: build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none")),
        ("zero-weight-random-bias", lambda: build_model("mlp", input_shape=(1, 8, 8), width=64)),
    ],
)
def test_assert_init_passes_a_model_the_scheme_initialised_with_another_seed(scheme: str, model) -> None:
    initlab.assert_init(apply_init(model(), scheme, seeded(7)), scheme)


def test_a_deterministic_part_must_match_exactly_and_a_missing_gain_is_named() -> None:
    model = build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none")
    apply_init(model, "zero-last-layer", seeded(3))
    with torch.no_grad():
        model.layer1[0].branch.conv2.weight[0, 0, 0, 0] = 1e-6
    with pytest.raises(
        AssertionError, match=r"1 parameters .* layer1\.0\.branch\.conv2\.weight \(branch-last\)"
    ):
        initlab.assert_init(model, "zero-last-layer")
    with pytest.raises(AssertionError, match=r"layer1\.0\.gain: missing \(the scheme adds it\)"):
        initlab.assert_init(
            build_model("resnet-cifar", input_shape=(1, 8, 8), depth=8, norm="none"), "rezero"
        )


# ---------------------------------------------------------------- rows and units


def test_rows_hold_exact_statistics_of_each_parameter() -> None:
    layer = mark_head(nn.Linear(3, 2))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
        layer.bias.fill_(0.5)
    weight, bias = initlab.audit(nn.Sequential(layer)).rows
    assert (weight.name, weight.role, weight.shape, weight.fan_in, weight.fan_out) == (
        "0.weight",
        "head",
        "2×3",
        3,
        2,
    )
    assert (weight.mean, weight.min, weight.max) == (3.5, 1.0, 6.0)
    assert weight.std == pytest.approx(math.sqrt(35 / 12))
    assert bias.constant and not bias.zero and bias.std == 0.0 and weight.expected_std is None


def test_dead_and_saturated_units_on_a_batch_and_identical_units() -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every ReLU unit is 0 on every sample
        model[2].weight.fill_(0.0)
        model[2].bias.fill_(10.0)  # tanh(10): saturated, and all 16 units identical
    result = initlab.audit(model, inputs=torch.rand(32, 8))
    assert [(f.where, f.message) for f in kinds(result, "dead")] == [
        ("1", "1: 100% of its units are dead on the batch")
    ]
    assert [f.where for f in kinds(result, "saturated")] == ["3"]
    (identical,) = kinds(result, "identical")
    assert identical.where == "2" and "(largest: 16)" in identical.message
    assert kinds(initlab.audit(model), "dead") == []  # without a batch, no unit statistics


# ---------------------------------------------------------------- frames, HTML, CLI


def test_audit_rows_convert_to_a_frame_and_to_html() -> None:
    pandas = pytest.importorskip("pandas")
    result = initlab.audit(torch_encoder(depth=2))
    frame = result.to_frame()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == len(result.rows)
    assert frame.loc[frame.name == "layers.0.norm1.weight", "constant"].item()
    page = result._repr_html_()
    assert page.startswith("<ul><li>copies: layer 1 of &#x27;layers&#x27; is a copy") and "<table>" in page


def test_initlab_audit_cli_prints_rows_and_writes_csv_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["audit", "--model", "transformer", "--model-param", "kind=decoder", "--model-param", "width=16",
            "--input-shape", "8", "--num-classes", "20"]  # fmt: skip
    assert main([*args, "--csv", str(tmp_path / "a.csv"), "--json", str(tmp_path / "a.json")]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out and "layers.0.attn.branch.attn.query" in out
    with (tmp_path / "a.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["name"] == "embed.weight" and rows[0]["role"] == "embedding"
    payload = json.loads((tmp_path / "a.json").read_text())
    assert len(payload["rows"]) == len(rows) and payload["scheme"] is None
    assert main([*args, "--init", "gpt2"]) == 1  # PyTorch's default is not GPT-2's init
    assert "parameters do not match 'gpt2'" in capsys.readouterr().out


def test_initlab_audit_cli_builds_the_model_for_a_dataset_and_looks_at_its_units(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["audit", "--model", "mlp", "--model-param", "width=32", "--model-param", "activation=tanh",
            "--dataset", "digits", "--batch-size", "64"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "│ 32×64 " in out and "│ 10×32 " in out  # digits: 8×8 = 64 inputs, 10 classes
    assert "dead on the batch" not in out  # tanh units are never dead
