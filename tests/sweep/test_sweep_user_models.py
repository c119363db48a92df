"""The user's own model through the ``initlab`` command, as a user runs it from their checkout: one
run and a two-worker sweep of ``examples.my_models`` (workers import it too), recorded with its
import path, params and source hash; a broken model stops before anything is recorded."""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from initlab.config import make_config
from initlab.store import Store
from initlab.sweep import SweepSummary, run_sweep

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INITLAB = Path(sys.executable).with_name(
    "initlab"
)  # the console script: the current directory is not on its path


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A folder laid out like the user's checkout: ``examples/`` with the user-model modules."""
    (tmp_path / "examples").mkdir()
    for name in ("my_models.py", "my_plugin.py"):
        shutil.copy(EXAMPLES / name, tmp_path / "examples" / name)
    return tmp_path


def initlab(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INITLAB), *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def file_hash(path: Path) -> str:
    """What ``model_source`` must be: the SHA-256 prefix of the module's file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_initlab_run_trains_a_model_named_by_import_path(checkout: Path) -> None:
    done = initlab(
        checkout, "run", "--dataset", "digits", "--model", "examples.my_models:mlp", "--model-param",
        "hidden=16", "--epochs", "1", "--store", "r.db",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(finished)" in done.stdout
    with Store(checkout / "r.db") as store:
        [run] = store.runs()
    assert run.status == "finished" and run.model == "examples.my_models:mlp"
    assert run.config["model_params"] == {"hidden": 16, "activation": "relu"}
    assert run.config["model_source"] == file_hash(checkout / "examples" / "my_models.py")


def test_a_two_worker_sweep_imports_the_models_in_its_workers(checkout: Path) -> None:
    done = initlab(
        checkout, "sweep", "run", "--set", "dataset=digits", "--set", "epochs=1", "--set", "train_size=200",
        "--import", "examples.my_plugin", "--axis", "model=examples.my_models:mlp,my-mlp",
        "--workers", "2", "--name", "mine", "--store", "r.db",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 runs: 2 finished, 0 diverged, 0 failed" in done.stdout
    with Store(checkout / "r.db") as store:
        runs = {run.model: run for run in store.runs(sweep="mine")}
    assert set(runs) == {"examples.my_models:mlp", "my-mlp"}
    assert all(
        run.status == "finished" and run.config["imports"] == ["examples.my_plugin"] for run in runs.values()
    )
    assert runs["examples.my_models:mlp"].config["model_source"] == file_hash(
        checkout / "examples" / "my_models.py"
    )
    # registered by the plugin module: the hash of that module
    assert runs["my-mlp"].config["model_source"] == file_hash(checkout / "examples" / "my_plugin.py")


SWEEP = ["sweep", "run", "--set", "dataset=digits", "--axis", "seed=0..1", "--workers", "2"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            [*SWEEP, "--set", "model=examples.broken:net"],
            "model 'examples.broken:net' raised RuntimeError: cannot build (called with num_classes=10)",
        ),
        (
            ["run", "--dataset", "digits", "--model", "examples.missing:net"],
            "module 'examples.missing' not found (looked in",
        ),
    ],
)
def test_a_broken_model_stops_before_any_run(checkout: Path, command: list[str], message: str) -> None:
    (checkout / "examples" / "broken.py").write_text(
        "def net(num_classes):\n    raise RuntimeError('cannot build')\n"
    )
    done = initlab(checkout, *command, "--store", "r.db")
    assert done.returncode == 2 and done.stderr.startswith("error: ") and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    if (checkout / "r.db").exists():  # no run and no sweep recorded
        with sqlite3.connect(checkout / "r.db") as db:
            count = "SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM sweeps)"
            assert db.execute(count).fetchone() == (0,)


def test_after_the_module_changes_a_sweep_runs_anew_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    module = tmp_path / "usermodels_s.py"
    module.write_text(
        "import math\nfrom torch import nn\n\ndef net(input_shape, num_classes):\n"
        "    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), num_classes))\n"
    )
    data = {
        "dataset": "synthetic-blobs",
        "dataset_params": {"n": 200},
        "model": "usermodels_s:net",
        "epochs": 1,
    }

    def sweep() -> tuple[SweepSummary, str]:
        out = io.StringIO()
        summary = run_sweep([make_config(data)], tmp_path / "r.db", workers=1, console=Console(file=out))
        return summary, out.getvalue()

    first, _ = sweep()
    module.write_text(module.read_text() + "# edited\n")
    second, said = sweep()
    third, said_again = sweep()
    assert (first.finished, second.finished, third.finished) == (1, 1, 1)
    assert (first.ran, second.ran, second.skipped, third.ran) == (1, 1, 0, 0)
    assert "model 'usermodels_s:net' changed since 1 runs of it in this store" in said
    assert "changed since" not in said_again  # nothing to run: nothing to say
    with Store(tmp_path / "r.db") as store:
        sources = {run.config["model_source"] for run in store.runs(status="finished")}
    assert len(sources) == 2
