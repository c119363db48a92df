"""``initlab inspect``: set a run up, and look at its model with every probe on the run's first batches.

The model, its init (LSUV on the run's own batch), the data (split, ``normalize``d), the optimizer and
schedule come from the run setup every engine uses (:func:`initlab.train.prepare_run`), so what
``inspect --steps N`` shows is the first N steps of ``initlab run`` with the same flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from initlab.cli.app import app, console
from initlab.cli.options import check_plot_path, parse_params
from initlab.config import load_config
from initlab.probes import (
    GradDistProbe,
    GradProfileProbe,
    JacobianProbe,
    OutputChangeProbe,
    SignalProbe,
    SymmetryProbe,
    UpdateOrderProbe,
    run_probes,
)
from initlab.probes.table import at_step, steps
from initlab.train import prepare_run


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


@app.command()
def inspect(
    model: str = typer.Option(None, help="Model name (see `initlab models`)."),
    model_param: list[str] = typer.Option(None, "--model-param", help="Model param key=value (repeatable)."),
    init: str = typer.Option(None, help="Init scheme (see `initlab schemes`)."),
    init_param: list[str] = typer.Option(None, "--init-param", help="Scheme param key=value (repeatable)."),
    dataset: str = typer.Option(None, help="Dataset the batch comes from (see `initlab datasets`)."),
    dataset_param: list[str] = typer.Option(None, "--dataset-param", help="Dataset param key=value."),
    steps_: int = typer.Option(0, "--steps", min=0, help="Training steps to take after looking at init."),
    optimizer: str = typer.Option(None, help="sgd | adam | adamw (for --steps)."),
    lr: float = typer.Option(None, help="Learning rate (for --steps)."),
    momentum: float = typer.Option(None, help="SGD momentum (for --steps)."),
    batch_size: int = typer.Option(None, help="Batch size."),
    seed: int = typer.Option(None, help="Seed of the init and of the batch order."),
    device: str = typer.Option(None, help="auto | cpu | cuda | cuda:N."),
    plot: Path = typer.Option(
        None, "--plot", help="Draw the per-layer statistics and update order here (PNG).", dir_okay=False
    ),
    download: bool = typer.Option(
        False, "--download", help="Allow downloading the dataset's official files."
    ),
) -> None:
    """Look at a model right after init (and after a few steps): signal and gradient statistics per
    layer, gradient norms through depth, the output change, symmetry groups with their verdict, update
    order and the input-output Jacobian."""
    if plot is not None:
        check_plot_path(plot)
    flags: dict[str, Any] = {
        "model": model,
        "model_params": parse_params(model_param),
        "init": init,
        "init_params": parse_params(init_param),
        "dataset": dataset,
        "dataset_params": parse_params(dataset_param),
        "optimizer": optimizer,
        "lr": lr,
        "momentum": momentum,
        "batch_size": batch_size,
        "seed": seed,
        "device": device,
    }
    setup = prepare_run(
        load_config(None, {k: v for k, v in flags.items() if v is not None}),
        download=download,
        evaluates=False,
    )
    cfg = setup.config
    net, train_set, _, _ = setup.place()
    count = max(steps_, 1)
    batches = setup.first_batches(train_set, count)  # the run's own first batches
    probes = {
        "symmetry": SymmetryProbe(first=steps_ + 1, every=0),
        "update-order": UpdateOrderProbe(first=steps_, every=0),
        "grad-dist": GradDistProbe(first=count, every=0),
        "signal": SignalProbe(first=count, every=0),
        "grad-profile": GradProfileProbe(first=1, every=0),
        "output-change": OutputChangeProbe(first=1, every=0),
        "jacobian": JacobianProbe(),
    }
    probes = {name: p for name, p in probes.items() if p.task in (None, setup.task.name)}
    optimizer, scheduler = setup.optimizer(net.parameters()) if steps_ else (None, None)
    with setup.dropout_stream():
        run_probes(
            net,
            list(probes.values()),
            batches,
            optimizer=optimizer,
            scheduler=scheduler,
            config=cfg,
            task=setup.task,
        )
    size = sum(p.numel() for p in net.parameters())
    console.print(
        f"[bold]{cfg.label()}[/] on a {cfg.dataset} batch of {len(batches[0][1])}: {size:,} parameters, "
        f"{steps_} training step{'s' if steps_ != 1 else ''} ({cfg.optimizer}, lr {cfg.lr:g})",
        highlight=False,
    )
    _signal_table(probes["signal"])
    _gradient_table(probes["grad-dist"])
    _grad_profile_table(probes["grad-profile"])
    _output_change_line(probes["output-change"])
    _symmetry_table(probes["symmetry"])
    if steps_:
        _update_order_table(probes["update-order"])
    jac = at_step(probes["jacobian"].rows, 0).get("model", {}) if "jacobian" in probes else {}
    if "jacobian" not in probes:
        console.print(f"input-output Jacobian: not defined for the {setup.task.name} task", highlight=False)
    elif jac:
        console.print(
            f"input-output Jacobian at init ({probes['jacobian'].samples} samples, eval mode): "
            f"mean σ² {_fmt(jac['mean_sq_sv'])}, std σ² {_fmt(jac['std_sq_sv'])}, "
            f"σ from {_fmt(jac['min_sv'])} to {_fmt(jac['max_sv'])}",
            highlight=False,
        )
    if plot is not None:
        from initlab.probes.plots import inspect_figure, save_figure

        figure = inspect_figure(
            probes["signal"].rows, probes["grad-dist"].rows, probes["update-order"].rows, cfg.label()
        )
        console.print(f"wrote {save_figure(figure, plot)}", highlight=False)


def _signal_table(probe: SignalProbe) -> None:
    stats = at_step(probe.rows, 0)
    table = Table(
        "layer", "mean", "std", "input signal", "saturated", "dead", "std ∂L/∂out", "weight std",
        "update:data",
        title="signal at step 0 (weight layers: their outputs; activation modules: activations)",
        title_justify="left",
    )  # fmt: skip
    for layer, q in stats.items():
        if "mean" not in q:
            continue
        table.add_row(
            layer,
            *(_fmt(q.get(k)) for k in ("mean", "std", "input_signal", "saturated_fraction", "dead_fraction")),
            *(_fmt(q.get(k)) for k in ("grad_std", "weight_std", "update_ratio")),
        )
    console.print(table)


def _gradient_table(probe: GradDistProbe) -> None:
    names = ("min", "p01", "p25", "p50", "p75", "p99", "max", "norm", "zero_fraction")
    table = Table("layer", *names, title="weight gradients at step 0 (exact quantiles)", title_justify="left")
    for layer, q in at_step(probe.rows, 0).items():
        table.add_row(layer, *(_fmt(q.get(k)) for k in names))
    console.print(table)


def _grad_profile_table(probe: GradProfileProbe) -> None:
    names = ("layer", "grad_norm", "grad_rms", "weight_norm")
    table = Table(
        "layer group", "transformer layer", "‖∂L/∂θ‖", "rms ∂L/∂θ", "‖θ‖",
        title="gradient norm through depth at step 0 (residual blocks and other modules)",
        title_justify="left",
    )  # fmt: skip
    for group, q in at_step(probe.rows, 0).items():
        table.add_row(group, *(_fmt(q.get(k)) for k in names))
    console.print(table)


def _output_change_line(probe: OutputChangeProbe) -> None:
    change = at_step(probe.rows, 0).get("model", {})
    if not change:
        return
    update = change.get("update_change_relative")
    console.print(
        f"output change at step 0 (E‖F(x,W) − F(x,W+δ)‖² / E‖F(x,W)‖², {probe.samples} samples, eval mode): "
        f"random δ of relative size {probe.relative_size:g} {_fmt(change['perturbation_change_relative'])}"
        + (f", the first update {_fmt(update)}" if update is not None else ""),
        highlight=False,
    )


def _symmetry_table(probe: SymmetryProbe) -> None:
    recorded = steps(probe.rows)
    first, last = recorded[0], recorded[-1]
    start, end = at_step(probe.rows, first), at_step(probe.rows, last)
    span = f"step {first}" if first == last else f"step {first} → {last}"
    table = Table(
        "layer", "units", "distinct", "largest group", "permanent group", "rank", "effective rank",
        title=f"symmetry ({span})", title_justify="left",
    )  # fmt: skip

    def pair(key: str, layer: str) -> str:
        a, b = start[layer].get(key), end[layer].get(key)
        return _fmt(a) if first == last or a == b else f"{_fmt(a)} → {_fmt(b)}"

    for layer in end:
        table.add_row(
            layer,
            *(pair(k, layer) for k in ("units", "distinct", "largest_group", "permanent_largest_group")),
            *(pair(k, layer) for k in ("rank", "effective_rank")),
        )
    console.print(table)
    permanent = [v.layer for v in probe.verdicts.values() if v.permanent]
    for verdict in probe.verdicts.values():
        if verdict.largest_group > 1 or verdict.permanent is None:
            same = f"{verdict.largest_group} of {verdict.units} units identical"
            console.print(f"  {verdict.layer}: {same}; {verdict.reason}", highlight=False)
    if permanent:
        console.print(
            f"[bold]verdict:[/] a permanent symmetry in {len(permanent)} layer(s) ({', '.join(permanent)}): "
            "gradient descent will never separate those units",
            highlight=False,
        )
    else:
        console.print("[bold]verdict:[/] no permanent symmetry: every group of identical units can separate")


def _update_order_table(probe: UpdateOrderProbe) -> None:
    table = Table(
        "parameter", "first non-zero gradient", "first change", "first change > rel. threshold",
        title=f"update order (0-based optimizer steps, - = not within them; relative threshold ‖Δ‖/‖w‖ > "
        f"{probe.rel_threshold:g})",
        title_justify="left",
    )  # fmt: skip
    for name, events in probe.summary().items():
        table.add_row(name, *("-" if s is None else str(s) for s in events.values()))
    console.print(table)
