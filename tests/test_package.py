"""The package's faces: reading results needs no torch; the top-level names load on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_the_store_imports_without_torch() -> None:
    code = "import sys, initlab.store, initlab.records, initlab.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_reading_commands_run_without_torch(tmp_path: Path) -> None:
    store, out = tmp_path / "s.db", tmp_path / "csv"
    code = (
        "import sys\n"
        "from initlab.cli.app import main\n"
        "from initlab.store import Store\n"
        f"Store({str(store)!r}).close()\n"
        f"codes = [main(['runs', '--store', {str(store)!r}]), "
        f"main(['export', '--csv', {str(out)!r}, '--store', {str(store)!r}])]\n"
        "print(codes, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[0, 0] False"
    assert (out / "runs.csv").exists()


def test_the_top_level_names_load_on_first_use() -> None:
    import initlab
    from initlab.models import build_model
    from initlab.schemes import apply_init

    assert initlab.build_model is build_model and initlab.apply_init is apply_init
    assert {"apply_init", "build_model", "load_dataset"} <= set(dir(initlab))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        initlab.no_such_name  # noqa: B018
