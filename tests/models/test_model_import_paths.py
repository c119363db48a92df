"""A model named by import path ``package.module:factory``: built with its own params and the
dataset's shapes where it names them, refused in one line when broken, and keyed by its source."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from initlab.config import make_config
from initlab.errors import ConfigError, UnknownNameError
from initlab.models import build_model
from initlab.models.registry import is_user_model, model_source
from initlab.train import resolve_config

USER_MODULE = '''
from typing import Literal
from torch import nn

class Net(nn.Module):
    """A linear model on flat inputs."""
    def __init__(self, width: int = 4, input_shape=(1, 8, 8), num_classes=10):
        super().__init__()
        c, h, w = input_shape
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, width))
        self.head = nn.Linear(width, num_classes)
    def forward(self, x):
        return self.head(self.body(x))

def no_shapes(hidden: int, act: Literal["relu", "tanh"] = "relu"):
    return nn.Sequential(nn.Linear(3, hidden), nn.ReLU() if act == "relu" else nn.Tanh())

def raises(depth: int = 2):
    raise ValueError(f"depth {depth} is too deep")

def not_a_module():
    return 42
'''


@pytest.fixture
def user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``usermodels_m`` in a fresh current directory (sys.path, sys.modules and the models imported by
    path restored afterwards)."""
    from initlab.models import MODELS

    monkeypatch.setattr(MODELS, "_imported", {})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    path = tmp_path / "usermodels_m.py"
    path.write_text(USER_MODULE)
    return path


def test_a_class_gets_its_params_and_the_shapes_it_names(user_models: Path) -> None:
    model = build_model("usermodels_m:Net", input_shape=(1, 8, 8), num_classes=3, width="6")
    assert (model.body[1].out_features, model.head.out_features) == (6, 3)
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_a_function_without_shape_params_gets_only_its_own(user_models: Path) -> None:
    model = build_model("usermodels_m:no_shapes", input_shape=(1, 8, 8), num_classes=3, hidden=5, act="tanh")
    assert isinstance(model[1], nn.Tanh) and model[0].out_features == 5


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "usermodels_m:Net",
            {"depth": 3},
            "unknown parameter 'depth' for model 'usermodels_m:Net'; allowed: width",
        ),
        ("usermodels_m:no_shapes", {"hidden": 2, "act": "gelu"}, "act='gelu' is invalid"),
        ("usermodels_m:no_shapes", {}, "hidden=None is invalid"),
        ("usermodels_m:raises", {}, "model 'usermodels_m:raises' raised ValueError: depth 2 is too deep"),
        ("usermodels_m:not_a_module", {}, "returned a value of type int, not an nn.Module"),
        ("usermodels_m:nope", {}, "module 'usermodels_m' has no attribute 'nope'"),
        ("usermodels_x:Net", {}, "module 'usermodels_x' not found"),
    ],
)
def test_a_broken_model_is_one_line_saying_what_is_wrong(
    user_models: Path, name: str, params: dict, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        build_model(name, input_shape=(1, 8, 8), num_classes=3, **params)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_name_mentions_import_paths() -> None:
    with pytest.raises(UnknownNameError, match=r"allowed: .*mlp.*; or an import path package.module:factory"):
        build_model("no-such-model")


def test_a_config_records_the_path_the_params_and_the_source_hash(user_models: Path) -> None:
    config = resolve_config(
        make_config({"dataset": "digits", "model": "usermodels_m:Net", "model_params": {"width": "3"}})
    )
    assert (config.model, config.model_params) == ("usermodels_m:Net", {"width": 3})
    assert is_user_model("usermodels_m:Net") and not is_user_model("mlp")
    assert config.model_source == model_source("usermodels_m:Net") and len(config.model_source) == 16
    assert resolve_config(make_config({"model": "mlp"})).model_source is None
    dumped = config.model_dump(mode="json")
    assert dumped["model_source"] == config.model_source  # what the store keeps


def test_a_changed_source_is_a_new_run_and_a_pinned_source_refuses_it(user_models: Path) -> None:
    data = {"dataset": "digits", "model": "usermodels_m:Net"}
    before = resolve_config(make_config(data))
    user_models.write_text(USER_MODULE + "\n# edited\n")
    after = resolve_config(make_config(data))
    assert after.model_source != before.model_source and after.key() != before.key()
    assert resolve_config(make_config({**data, "model_source": after.model_source})).key() == after.key()
    with pytest.raises(
        ConfigError, match=rf"model_source='{before.model_source}' is not the source of model"
    ):
        resolve_config(make_config({**data, "model_source": before.model_source}))


def test_imports_register_names_before_they_resolve_and_stay_out_of_the_key(
    user_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from initlab.models import MODELS

    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))
    (user_models.parent / "userplugin_m.py").write_text(
        "from initlab.models import MODELS\n"
        "from usermodels_m import Net\n"
        "MODELS.register('user-net-m')(Net)\n"
    )
    with pytest.raises(UnknownNameError):
        resolve_config(make_config({"model": "user-net-m"}))
    config = resolve_config(make_config({"model": "user-net-m", "imports": ["userplugin_m"]}))
    assert config.model_source is not None  # registered by the user's code: hashed too
    assert config.key() == config.model_copy(update={"imports": []}).key()
    assert (
        resolve_config(make_config({})).key()
        == resolve_config(make_config({"imports": ["userplugin_m"]})).key()
    )
