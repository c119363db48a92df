"""One module per command group; importing them registers the commands on the app."""

from initlab.cli.commands import catalog, inspect, report, run, runs, sweep  # noqa: F401
