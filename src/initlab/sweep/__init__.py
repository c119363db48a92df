"""Sweeps: grids of runs × seeds, in parallel, resumable, on this machine or a Ray cluster.

``load_sweep("sweep.toml")`` reads a :class:`SweepSpec` (a base config and axes), ``expand(spec)``
gives its run configs and ``run_sweep(configs, store, workers=2)`` runs those not yet done, writing
every record to the store and returning a :class:`SweepSummary`. ``Store.runs(sweep=name)`` finds a
sweep's runs again.
"""

from initlab.sweep.driver import EXECUTORS, SweepInterrupted, SweepSummary, run_sweep
from initlab.sweep.jobs import ENGINES
from initlab.sweep.spec import SweepPoint, SweepSpec, expand, load_sweep, make_spec, parse_axis, plan

__all__ = [
    "ENGINES",
    "EXECUTORS",
    "SweepInterrupted",
    "SweepPoint",
    "SweepSpec",
    "SweepSummary",
    "expand",
    "load_sweep",
    "make_spec",
    "parse_axis",
    "plan",
    "run_sweep",
]
