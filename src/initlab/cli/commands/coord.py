"""``initlab coord-check``: muP's coordinate check of one model over several widths, with a verdict per
module and (``--plot``) the log-log figure of mean |activation| against width per step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from initlab.cli.app import app, console
from initlab.cli.options import check_plot_path, parse_params
from initlab.config import load_config
from initlab.errors import ConfigError


@app.command("coord-check")
def coord_check_command(
    widths: str = typer.Option(..., help="Comma-separated widths in increasing order, e.g. 64,128,256."),
    width_param: str = typer.Option("width", help="The model param that sets the width."),
    steps: int = typer.Option(3, min=1, help="Training steps per width (muP's t = 1..steps)."),
    seeds: int = typer.Option(1, min=1, help="Seeds per width (averaged), from --seed on."),
    tolerance: float = typer.Option(1.2, help="Stable when consecutive widths' ratio is in (1/t, t)."),
    model: str = typer.Option(None, help="Model name (see `initlab models`)."),
    model_param: list[str] = typer.Option(None, "--model-param", help="Model param key=value (repeatable)."),
    init: str = typer.Option(None, help="Init scheme (see `initlab schemes`)."),
    init_param: list[str] = typer.Option(None, "--init-param", help="Scheme param key=value (repeatable)."),
    dataset: str = typer.Option(None, help="Dataset the batches come from (see `initlab datasets`)."),
    optimizer: str = typer.Option(None, help="sgd | adam | adamw."),
    lr: float = typer.Option(None, help="Learning rate."),
    batch_size: int = typer.Option(None, help="Batch size."),
    seed: int = typer.Option(None, help="First seed."),
    device: str = typer.Option(None, help="auto | cpu | cuda | cuda:N."),
    plot: Path = typer.Option(None, "--plot", help="Draw the coordinate-check figure here.", dir_okay=False),
) -> None:
    """muP's coordinate check: mean |activation| of every module at steps 1..N, across widths."""
    from initlab.coord_check import coord_check
    from initlab.probes.plots import save_figure
    from initlab.report.probe_sections.coord_check import coord_check_figure

    if plot is not None:
        check_plot_path(plot)
    try:
        parsed = [int(w) for w in widths.split(",")]
    except ValueError:
        raise ConfigError(f"--widths must be comma-separated integers, got {widths!r}") from None
    flags: dict[str, Any] = {
        "model": model, "model_params": parse_params(model_param), "init": init,
        "init_params": parse_params(init_param), "dataset": dataset, "optimizer": optimizer, "lr": lr,
        "batch_size": batch_size, "seed": seed, "device": device,
    }  # fmt: skip
    config = load_config(None, {k: v for k, v in flags.items() if v is not None})
    result = coord_check(config, parsed, width_param=width_param, steps=steps, seeds=seeds)
    verdicts = result.verdicts(tolerance)
    table = Table(
        "module", "verdict", "worst ratio", "at step", "widths", "log-log slope", "zero at step 0",
        title=f"coordinate check over widths {', '.join(map(str, parsed))} ({steps} steps, {seeds} seed(s))",
        title_justify="left",
    )  # fmt: skip
    for v in verdicts:
        table.add_row(
            v.module + (" (readout)" if v.readout else ""), "stable" if v.stable else "UNSTABLE",
            f"{v.worst_ratio:.3g}", str(v.worst_step), f"{v.worst_widths[0]}→{v.worst_widths[1]}",
            f"{v.slope:.2f}", "yes" if v.zero_at_first_step else "no",
        )  # fmt: skip
    console.print(table)
    unstable = [v.module for v in verdicts if not v.stable]
    said = f"unstable in width: {', '.join(unstable)}" if unstable else "every module is stable in width"
    console.print(
        f"[bold]verdict:[/] {said}"
        f" (ratio between consecutive widths in (1/{tolerance:g}, {tolerance:g}) at every step)",
        highlight=False,
    )
    if plot is not None:
        figure = coord_check_figure(result.values(), verdicts, f"{config.model} coordinate check")
        console.print(f"wrote {save_figure(figure, plot)}", highlight=False)
