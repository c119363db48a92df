"""A denoising run end to end: the loop with the U-Net, the probes that read weights and gradients,
the stored samples, the feature classifier trained once, and the probes that refuse (x_t, t) inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from initlab.cli.app import main
from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.records import MemorySink
from initlab.store import Store
from initlab.tasks import frechet
from initlab.train import train


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(**fields: object) -> RunConfig:
    base: dict[str, object] = {
        "dataset": "digits",
        "model": "unet",
        "model_params": {"model_channels": 8},
        "init": "zero-module",
        "epochs": 1,
        "batch_size": 64,
        "train_size": 192,
        "val_size": 64,
        "device": "cpu",
        "task_params": {"sample_count": 0, "eval_size": 100},
    }
    return RunConfig(**{**base, **fields})


def test_a_run_records_losses_probes_and_samples_bitwise_reproducibly() -> None:
    probes = {
        "symmetry": {"first": 3, "every": 0},
        "update-order": {"first": 3, "every": 0},
        "samples": {"count": 4},
    }
    sinks = [MemorySink(), MemorySink()]
    results = [train(config(probes=probes), sink=sink) for sink in sinks]
    first = results[0]
    assert first.status == "finished" and set(first.summary) >= {"train_loss", "val_loss", "test_loss"}
    order = first.probes["update-order"].summary()
    assert order["out.2.weight"]["first_grad_step"] == 0  # only the output conv's weight at step 0
    assert order["input_blocks.1.0.out_layers.3.weight"]["first_grad_step"] == 1
    assert order["input_blocks.1.0.in_layers.2.weight"]["first_grad_step"] == 2
    zeroed = {
        (r.step, r.name): r.value
        for r in first.probes["symmetry"].rows
        if r.layer == "input_blocks.1.0.out_layers.3"
    }
    # all 8 channels of the zeroed conv alike at init, yet no permanent group; apart after its first update
    assert (zeroed[0, "largest_group"], zeroed[0, "permanent_largest_group"]) == (8, 1)
    assert zeroed[1, "largest_group"] == 8 and zeroed[2, "largest_group"] == 1
    rows = first.probes["samples"].rows
    assert len(rows) == 4 * 64 and {r.step for r in rows} == {3}
    assert all(0 <= r.value <= 255 and r.value == round(r.value) for r in rows)
    (run_a,), (run_b,) = (list(s.probe_rows) for s in sinks)
    assert sinks[0].probe_rows[run_a] == sinks[1].probe_rows[run_b]  # bitwise, probes included
    assert first.summary == {**results[1].summary, "train_seconds": first.summary["train_seconds"]}


def test_the_feature_classifier_is_trained_once_and_scores_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path))
    monkeypatch.setitem(frechet.CLASSIFIER_EPOCHS, "digits", 1)
    result = train(config(task_params={"sample_count": 32, "sampling_steps": 4, "eval_size": 100}))
    saved = list((tmp_path / "feature-classifiers").glob("digits-*.pt"))
    assert len(saved) == 1 and saved[0].name == f"digits-{frechet.classifier_config('digits').key()}.pt"
    assert result.summary["test_frechet_distance"] > 0 and "val_frechet_distance" not in result.summary
    said = capsys.readouterr().err
    assert "training the feature classifier of 'digits' once" in said and str(saved[0]) in said
    stamp = saved[0].stat().st_mtime_ns
    train(config(task_params={"sample_count": 32, "sampling_steps": 4, "eval_size": 100}))
    assert saved[0].stat().st_mtime_ns == stamp  # found, not trained again
    assert "feature classifier" not in capsys.readouterr().err


def test_a_probe_that_needs_one_input_tensor_refuses_the_denoiser() -> None:
    with pytest.raises(ConfigError, match=r"jacobian probe .* takes 2 inputs"):
        train(config(probes={"jacobian": {"first": 1, "every": 0}}))


def test_initlab_run_and_inspect_train_and_look_at_a_denoiser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INITLAB_DATA", str(tmp_path / "cache"))
    common = [
        "--dataset",
        "digits",
        "--model",
        "unet",
        "--model-param",
        "model_channels=8",
        "--init",
        "zero-module",
    ]
    run = ["run", *common, "--epochs", "1", "--train-size", "128", "--val-size", "64", "--batch-size", "64"]
    run += ["--task-param", "sample_count=0", "--task-param", "eval_size=64", "--probe", "samples"]
    status = main([*run, "--store", str(tmp_path / "r.db"), "--device", "cpu"])
    out = capsys.readouterr().out.strip().splitlines()
    assert status == 0 and out[-2].startswith("test loss ") and "(finished)" in out[-2]
    assert out[-1] == "probe rows in the store: samples 1024"  # 16 images of 8×8
    with Store(tmp_path / "r.db", create=False) as store:
        (record,) = store.runs()
        assert record.config["task_params"] == {"sample_count": 0, "eval_size": 64}
    status = main(["inspect", *common, "--steps", "2"])
    out = capsys.readouterr().out
    assert status == 0, capsys.readouterr().err
    assert "digits batch of 128" in out and "out.2" in out and "Jacobian at init" not in out
    assert not (tmp_path / "cache").exists()  # inspect never evaluates: no classifier was trained


def test_the_depth_probes_read_a_denoiser_through_its_x_t_and_t() -> None:
    """output-change, grad-profile and coord-check on (x_t, t) inputs: under zero-module the output
    is exactly zero at init, so the perturbation moves nothing at step 0; the first update (the output
    conv's, the only layer with a gradient at step 0) changes the output."""
    probes = {name: {"first": 2, "every": 0} for name in ("output-change", "grad-profile", "coord-check")}
    result = train(config(probes=probes))
    rows = {(r.step, r.name): r.value for r in result.probes["output-change"].rows if r.layer == "model"}
    assert rows[(0, "output_sq")] == 0.0 and rows[(0, "perturbation_change")] == 0.0
    assert rows[(1, "update_change")] > 0.0
    grads = [r for r in result.probes["grad-profile"].rows if r.name == "grad_norm" and r.step == 0]
    assert len(grads) > 10 and [r.layer for r in grads if r.value > 0] == ["out.2"]  # the output conv only
    assert {r.step for r in result.probes["coord-check"].rows} == {0, 1}
