"""``initlab run``: one training run, recorded in the store, with a progress bar and a summary line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from initlab.cli.app import app, console
from initlab.cli.options import ImportOption, StoreOption, parse_params, parse_probes
from initlab.config import load_config
from initlab.records import RunEnd
from initlab.store import Store, check_store
from initlab.train import Callback, TrainContext, load_splits, prepare_run, resolve_config, train
from initlab.train.device import resolve_device
from initlab.train.optim import total_steps

SUMMARY_METRICS = ("accuracy", "bpc", "loss", "frechet_distance")
"""The test metrics the summary line prints, those the run recorded, in this order."""


class ProgressBar(Callback):
    """A rich progress bar over the run's steps, and one line per epoch."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task = progress.add_task("training", total=None)

    def on_train_start(self, ctx: TrainContext) -> None:
        self.progress.update(self.task, total=total_steps(ctx.config, ctx.steps_per_epoch))

    def on_step_end(self, ctx: TrainContext) -> None:
        self.progress.advance(self.task)

    def on_epoch_end(self, ctx: TrainContext) -> None:
        m = ctx.epoch_metrics
        parts = [f"epoch {ctx.epoch:>3}"]
        for key in ("train_loss", "val_accuracy", "test_accuracy", "val_bpc", "test_bpc"):
            if key in m:
                parts.append(f"{key.replace('_', ' ')} {m[key]:.4f}")
        self.progress.console.print("  ".join(parts))

    def on_train_end(self, ctx: TrainContext, end: RunEnd) -> None:
        self.progress.update(self.task, completed=self.progress.tasks[0].total)


@app.command()
def run(
    dataset: str = typer.Option(None, help="Dataset name (see `initlab datasets`)."),
    model: str = typer.Option(
        None, help="Model name (see `initlab models`) or import path package.module:factory."
    ),
    init: str = typer.Option(None, help="Init scheme (see `initlab schemes`)."),
    init_param: list[str] = typer.Option(None, "--init-param", help="Scheme param key=value (repeatable)."),
    model_param: list[str] = typer.Option(None, "--model-param", help="Model param key=value (repeatable)."),
    dataset_param: list[str] = typer.Option(None, "--dataset-param", help="Dataset param key=value."),
    task_param: list[str] = typer.Option(
        None, "--task-param", help="Task param key=value (the denoiser: sample_count=..., ...)."
    ),
    optimizer: str = typer.Option(None, help="sgd | adam | adamw."),
    lr: float = typer.Option(None, help="Learning rate."),
    momentum: float = typer.Option(None, help="SGD momentum."),
    nesterov: bool = typer.Option(None, "--nesterov/--no-nesterov", help="SGD Nesterov momentum."),
    weight_decay: float = typer.Option(None, help="Weight decay."),
    schedule: str = typer.Option(None, help="constant | cosine | step."),
    warmup_steps: int = typer.Option(None, help="Linear learning-rate warm-up steps."),
    batch_size: int = typer.Option(None, help="Training batch size."),
    epochs: int = typer.Option(None, help="Training epochs."),
    max_steps: int = typer.Option(None, help="Stop after N optimizer steps (or `epochs`, if first)."),
    eval_every: int = typer.Option(None, help="Also evaluate every N steps inside an epoch."),
    seed: int = typer.Option(None, help="The run's seed; every generator derives from it."),
    val_size: int = typer.Option(None, help="Validation images split off the training set."),
    train_size: int = typer.Option(None, help="Train on only this many images."),
    log_every: int = typer.Option(None, help="Record the training loss every N steps."),
    device: str = typer.Option(None, help="auto | cpu | cuda | cuda:N."),
    compile_: bool = typer.Option(
        None, "--compile/--no-compile", help="Train through torch.compile (equal up to float rounding)."
    ),
    fused_optimizer: bool = typer.Option(
        None,
        "--fused-optimizer/--no-fused-optimizer",
        help="Step the optimizer with its fused kernel (equal up to float rounding).",
    ),
    probe: list[str] = typer.Option(None, "--probe", help="Attach this probe (see `initlab probes`)."),
    probe_param: list[str] = typer.Option(
        None, "--probe-param", help="Probe param NAME.key=value (repeatable; turns the probe on)."
    ),
    import_: list[str] = ImportOption,
    config: Path = typer.Option(None, "--config", help="TOML file with the same fields; flags override it."),
    store: Path = StoreOption,
    download: bool = typer.Option(
        False, "--download", help="Allow downloading the dataset's official files."
    ),
) -> None:
    """Train one model from one init and record the run in the store."""
    flags: dict[str, Any] = {
        "dataset": dataset,
        "model": model,
        "init": init,
        "init_params": parse_params(init_param),
        "model_params": parse_params(model_param),
        "dataset_params": parse_params(dataset_param),
        "task_params": parse_params(task_param),
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "nesterov": nesterov,
        "weight_decay": weight_decay,
        "schedule": schedule,
        "warmup_steps": warmup_steps,
        "batch_size": batch_size,
        "epochs": epochs,
        "max_steps": max_steps,
        "eval_every": eval_every,
        "seed": seed,
        "val_size": val_size,
        "train_size": train_size,
        "log_every": log_every,
        "device": device,
        "compile": compile_,
        "fused_optimizer": fused_optimizer,
        "probes": parse_probes(probe, probe_param),
        "imports": import_ or None,
    }
    cfg = resolve_config(load_config(config, {k: v for k, v in flags.items() if v is not None}))
    resolve_device(cfg.device)  # a device this machine lacks is refused before anything is written
    check_store(store, create=True)
    splits = load_splits(cfg, download=download)
    setup = prepare_run(cfg, splits=splits)  # a model, init or task that does not fit is refused here
    console.print(
        f"[bold]{cfg.label()}[/] on {cfg.dataset} ({len(splits.train)} train, {len(splits.val)} val)"
    )
    with (
        Store(store) as sink,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress,
    ):
        result = train(cfg, sink=sink, callbacks=[ProgressBar(progress)], setup=setup)
    recorded = [
        f"{k} {result.summary[f'test_{k}']:.4f}" for k in SUMMARY_METRICS if f"test_{k}" in result.summary
    ]
    line = f"test {'  '.join(recorded) or '(not evaluated)'}  {result.seconds:.1f} s  run {result.id}"
    line += f"  ({result.status})"
    if result.status == "diverged":
        line += f": {result.reason}"
    console.print(line, highlight=False)
    if result.probes:
        counts = ", ".join(f"{name} {len(probe.rows)}" for name, probe in result.probes.items())
        console.print(f"probe rows in the store: {counts}", highlight=False)
