"""Bad input, as a new user types it: one ``error:`` line naming the bad value, exit status 2, nothing
printed before it, and the store exactly as it was (or still missing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from initlab.cli.app import main
from store_files import damage, fingerprint, make_foreign, make_store

RUN = ["run", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--train-size", "64"]
SWEEP = [
    "sweep",
    "run",
    "--set",
    "dataset=digits",
    "--set",
    "model=mlp",
    "--set",
    "epochs=1",
    "--axis",
    "seed=0..1",
]
UNWRITABLE = "/proc/initlab-test"  # no new entries here, not even for root
needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")


def refused(capsys: pytest.CaptureFixture[str], args: list[str], *names: str) -> str:
    """Run the command; check it printed only one error line naming each of ``names``; return it."""
    status = main(args)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert out == "", out  # no header, no progress: refused before any work
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# -- unusable paths are refused before work starts --------------------------------------------------


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    """A plain file, which paths below it cannot go through."""
    path = tmp_path / "file"
    path.write_text("")
    return path


@pytest.mark.parametrize(
    "command",
    [
        lambda f, db: [*RUN, "--store", f"{f}/r.db"],
        lambda f, db: [*SWEEP, "--store", f"{f}/r.db"],
        lambda f, db: ["export", "--csv", f"{f}/out", "--store", str(db)],
        lambda f, db: ["report", "--out", f"{f}/out", "--store", str(db)],
        lambda f, db: ["inspect", "--dataset", "digits", "--model", "mlp", "--plot", f"{f}/x/p.png"],
        lambda f, db: ["study", "run", "zero-symmetry", "--out", f"{f}/out", "--store", str(db)],
        lambda f, db: ["study", "report", "zero-symmetry", "--out", f"{f}/out", "--store", str(db)],
    ],
    ids=["run", "sweep-run", "export", "report", "inspect", "study-run", "study-report"],
)
def test_a_path_under_a_file_is_refused_before_work(
    command: Callable[[Path, Path], list[str]],
    a_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = make_store(tmp_path / "r.db")
    before = fingerprint(db)
    line = refused(capsys, command(a_file, db), f"{a_file}/", f"{str(a_file)!r} is not a directory")
    assert "internal error" not in line
    assert fingerprint(db) == before and a_file.read_text() == ""


@needs_proc
@pytest.mark.parametrize(
    "command",
    [
        [*RUN, "--store", f"{UNWRITABLE}/r.db"],
        [*SWEEP, "--store", f"{UNWRITABLE}/r.db"],
        ["inspect", "--dataset", "digits", "--model", "mlp", "--plot", f"{UNWRITABLE}/p.png"],
    ],
    ids=["run", "sweep-run", "inspect"],
)
def test_a_path_where_nothing_can_be_created_is_refused_before_work(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, command, UNWRITABLE, "cannot be written: '/proc'")


@needs_proc
@pytest.mark.parametrize("command", [["export", "--csv"], ["report", "--out"]], ids=["export", "report"])
def test_an_output_folder_where_nothing_can_be_created_is_refused(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_store(tmp_path / "r.db")
    before = fingerprint(db)
    refused(capsys, [*command, f"{UNWRITABLE}/out", "--store", str(db)], UNWRITABLE, "cannot be written")
    assert fingerprint(db) == before


@pytest.mark.parametrize("name", ["out.xyz", "out"])
def test_a_plot_name_matplotlib_cannot_write_is_refused_before_work(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / name
    args = ["inspect", "--dataset", "digits", "--model", "mlp", "--plot", str(plot)]
    refused(capsys, args, repr(str(plot)), "is not an image file name; allowed endings: ", ".png")
    assert not plot.exists()


# -- config and sweep files that are not text -------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\xff\xfe\x00 epochs = 1\n"), "is not UTF-8 text (byte 0)"),
        (lambda p: p.mkdir(), "cannot be read: Is a directory"),
    ],
    ids=["binary", "directory"],
)
@pytest.mark.parametrize("command", [[*RUN, "--config"], ["sweep", "run"], ["sweep", "plan"]])
def test_a_config_or_sweep_file_that_is_not_text_is_refused(
    make: Callable[[Path], object],
    message: str,
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, db = tmp_path / "in.toml", tmp_path / "r.db"
    make(path)
    if command[0] == "sweep" and path.is_dir():
        message = "is a directory"  # the sweep argument's own check (dir_okay=False)
    refused(capsys, [*command, str(path), "--store", str(db)], str(path), message)
    assert not db.exists()


# -- values that make no sense ----------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cuda:x", "cuda:-1", "cuda:", "gpu"])
def test_a_malformed_device_is_refused(
    device: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    refused(
        capsys,
        [*RUN, "--device", device, "--store", str(db)],
        repr(device),
        "allowed: auto, cpu, cuda, cuda:N",
    )
    assert not db.exists()


def test_a_device_this_machine_lacks_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    db = tmp_path / "r.db"
    refused(capsys, [*RUN, "--device", "cuda:3", "--store", str(db)], "'cuda:3'", "no CUDA")
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--lr", "inf"], ["lr=inf", "finite"]),
        (["--lr", "nan"], ["lr=nan", "finite"]),
        (["--weight-decay", "inf"], ["weight_decay=inf", "finite"]),
        (["--init", "zero-weight-random-bias", "--init-param", "scale=inf"], ["scale=inf", "finite"]),
        (["--init", "constant", "--init-param", "value=nan"], ["value=nan", "finite"]),
        (["--init", "compose", "--init-param", "body=normal", "--init-param", "body_params={std=inf}"],
         ["std=inf", "finite"]),
        (["--probe-param", "update-order.rel_threshold=inf"], ["rel_threshold=inf", "finite"]),
        (["--dataset", "synthetic-blobs", "--dataset-param", "noise=inf"], ["noise=inf", "finite"]),
    ],
    ids=["lr-inf", "lr-nan", "weight-decay", "scale", "value", "nested", "probe", "dataset"],
)  # fmt: skip
def test_non_finite_numbers_are_refused_not_trained(
    args: list[str], names: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_store(tmp_path / "r.db")
    before = fingerprint(db)
    refused(capsys, [*RUN, *args, "--store", str(db)], *names)
    assert fingerprint(db) == before


def test_a_seed_beyond_64_bits_is_refused_not_failed_at_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    refused(capsys, [*RUN, "--seed", str(2**64), "--store", str(db)], f"seed={2**64}", f"less than {2**63}")
    assert not db.exists()


# -- stores that are not initlab's, or damaged; stores that do not exist ---------------------------


STORES = {
    "foreign": (make_foreign, "is not an initlab store: no table 'metrics'"),
    "corrupt": (lambda p: damage(make_store(p)), "is corrupt"),
}


@pytest.mark.parametrize("kind", list(STORES))
@pytest.mark.parametrize(
    "command",
    [RUN, SWEEP, ["runs"], ["export", "--csv", "{tmp}/out"], ["report", "--out", "{tmp}/out"]],
    ids=["run", "sweep-run", "runs", "export", "report"],
)
def test_a_foreign_or_corrupt_store_is_refused_and_left_as_it_was(
    kind: str, command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = STORES[kind]
    db = tmp_path / "r.db"
    make(db)
    before, header = fingerprint(db), db.read_bytes()[:100]
    args = [a.format(tmp=tmp_path) for a in command]
    refused(capsys, [*args, "--store", str(db)], repr(str(db)), message)
    assert fingerprint(db) == before  # the same bytes, and no -wal or -shm beside it
    assert db.read_bytes()[:100] == header  # in particular, not switched to WAL mode
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--csv", "{tmp}/out"],
        ["runs"],
        ["report", "--out", "{tmp}/out"],
        ["study", "report", "zero-symmetry"],
    ],
    ids=["export", "runs", "report", "study-report"],
)
def test_reading_commands_never_create_a_store(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "missing.db"
    args = [a.format(tmp=tmp_path) for a in command]
    refused(capsys, [*args, "--store", str(db)], repr(str(db)), "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- option values the parser refuses are named ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "--lr", "abc"], ["'--lr'", "'abc'", "valid number"]),
        (["run", "--epochs", "abc"], ["'--epochs'", "'abc'", "valid integer"]),
        (["runs", "--last", "abc"], ["'--last'", "'abc'", "valid integer"]),
        (["runs", "--last", "-1"], ["'--last'", "'-1'", "greater than or equal to 0"]),
        (["inspect", "--steps", "-1"], ["'--steps'", "'-1'", "greater than or equal to 0"]),
        (["sweep", "run", "--workers", "many"], ["'--workers'", "'many'", "valid integer"]),
    ],
)
def test_an_option_value_that_does_not_parse_is_named(
    args: list[str], names: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    refused(capsys, [*args, "--store", str(db)] if args[0] != "inspect" else args, *names)
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--workers", "0"], ["'--workers'", "'0'"]),
        (["--threads", "0"], ["'--threads'", "'0'"]),
        (["--max-retries", "-1"], ["'--max-retries'", "'-1'"]),
        (["--num-cpus", "0"], ["--num-cpus 0", "allowed > 0"]),
        (["--engine", "jit"], ["engine='jit'", "allowed: loop, vmap"]),
        (["--executor", "mpi"], ["executor='mpi'", "allowed: local, ray"]),
    ],
)
@pytest.mark.parametrize(
    "command", [SWEEP, ["study", "run", "zero-symmetry"]], ids=["sweep-run", "study-run"]
)
def test_sweep_options_are_refused_before_the_header(
    args: list[str], names: list[str], command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    refused(capsys, [*command, *args, "--store", str(db)], *names)
    assert not db.exists()


# -- sizes the data cannot give --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (
            ["--train-size", "100000"],
            "train_size=100000 is out of range for digits: allowed 1 <= train_size <= 1137",
        ),
        (
            ["--val-size", "100000"],
            "val_size=100000 is out of range for digits: allowed 0 <= val_size < 1437",
        ),
        (["--val-size", "1400", "--train-size", "64"], "train_size=64 is out of range for digits"),
    ],
    ids=["train-size", "val-size", "train-size-after-val"],
)
def test_train_and_val_sizes_larger_than_the_data_are_refused_alike(
    args: list[str], name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    refused(capsys, [*RUN, *args, "--store", str(db)], name)
    assert not db.exists()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--dataset", "digits", "--model", "unet", "--task-param", "sample_count=-1"], ("'denoise'", "=-1")),
        (["--dataset", "shakespeare-char", "--model", "mnist-cnn"], ("'mnist-cnn'", "(128,)")),
    ],
)
def test_a_model_or_task_that_does_not_fit_is_refused_before_the_header(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], names: tuple[str, ...]
) -> None:
    """What only the built model or the run's task can check (the input shape, the task's params) is
    checked before ``initlab run`` prints its header or starts its progress bar; no store is made."""
    refused(capsys, ["run", *args, "--epochs", "1", "--store", str(tmp_path / "r.db")], *names)
    assert not (tmp_path / "r.db").exists()
