"""Importing the user's code: import paths from the current directory, one-line errors, source
hashes, the path workers get, and ``initlab.plugins`` entry points."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from initlab import imports
from initlab.errors import ConfigError
from initlab.imports import import_object, load_plugins, search_path, source_hash


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory; sys.path and sys.modules are restored afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    return tmp_path


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_import_path_resolves_from_the_current_directory(user_dir: Path) -> None:
    write(user_dir, "userpkg_a/models.py", "class Net:\n    class Inner:\n        pass\n")
    assert import_object("userpkg_a.models:Net").__name__ == "Net"
    assert import_object("userpkg_a.models:Net.Inner").__qualname__ == "Net.Inner"
    assert sys.path[0] == str(user_dir)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("userpkg_b.missing:Net", "module 'userpkg_b.missing' not found (looked in"),
        ("userpkg_b.models:Nope", "module 'userpkg_b.models' has no attribute 'Nope'"),
        ("userpkg_b.broken:Net", "importing module 'userpkg_b.broken' failed: ZeroDivisionError"),
        ("userpkg_b.needs:Net", "importing module 'userpkg_b.needs' failed: ModuleNotFoundError"),
        ("userpkg_b.models", "'userpkg_b.models' is not an import path: use package.module:attribute"),
        ("userpkg_b/models:Net", "'userpkg_b/models' is not a module name"),
    ],
)
def test_a_bad_import_path_is_one_line_naming_what_is_wrong(user_dir: Path, path: str, message: str) -> None:
    write(user_dir, "userpkg_b/models.py", "Net = 1\n")
    write(user_dir, "userpkg_b/broken.py", "1 / 0\n")
    write(user_dir, "userpkg_b/needs.py", "import no_such_dependency_xyz\n")
    with pytest.raises(ConfigError) as info:
        import_object(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_source_hash_follows_the_module_file(user_dir: Path) -> None:
    module = write(user_dir, "userpkg_c.py", "X = 1\n")
    import_object("userpkg_c:X")
    first = source_hash("userpkg_c")
    module.write_text("X = 2\n")
    assert len(first or "") == 16 and source_hash("userpkg_c") not in (None, first)
    assert source_hash("sys") is None  # built in: no file
    assert source_hash("never_imported_module_xyz") is None


def test_workers_get_an_absolute_search_path_with_the_current_directory(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", ["", "relative/dir", *sys.path])
    path = search_path()
    assert path[:2] == [str(user_dir), str(user_dir / "relative" / "dir")]
    assert all(os.path.isabs(p) for p in path) and len(path) == len(set(path))


def test_plugins_register_through_their_entry_point_group(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        user_dir,
        "userplugin_d.py",
        "from torch import nn\n"
        "from initlab.models import MODELS\n"
        "@MODELS.register('plugin-linear-d')\n"
        "def linear(*, input_shape, num_classes):\n"
        "    return nn.Linear(input_shape[0], num_classes)\n",
    )
    write(user_dir, "userplugin_d-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: userplugin-d\n")
    write(
        user_dir, "userplugin_d-0.1.dist-info/entry_points.txt", "[initlab.plugins]\nmodels = userplugin_d\n"
    )
    sys.path.insert(0, str(user_dir))
    monkeypatch.setattr(imports, "_plugins_loaded", False)
    from initlab.models import MODELS, build_model

    monkeypatch.setattr(MODELS, "_entries", dict(MODELS._entries))  # forget the plugin afterwards
    assert "plugin-linear-d" in MODELS.names()
    assert build_model("plugin-linear-d", input_shape=(5,), num_classes=3).out_features == 3


def test_a_failing_plugin_is_one_line_naming_it(user_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(user_dir, "userplugin_e.py", "raise RuntimeError('plugin broke')\n")
    write(user_dir, "userplugin_e-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: userplugin-e\n")
    write(user_dir, "userplugin_e-0.1.dist-info/entry_points.txt", "[initlab.plugins]\nbad = userplugin_e\n")
    sys.path.insert(0, str(user_dir))
    monkeypatch.setattr(imports, "_plugins_loaded", False)
    with pytest.raises(
        ConfigError,
        match=r"plugin 'bad' \(userplugin_e\) of group 'initlab.plugins' failed: "
        r"RuntimeError: plugin broke",
    ):
        load_plugins()
