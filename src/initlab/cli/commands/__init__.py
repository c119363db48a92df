"""One module per command group; importing them registers the commands on the app."""

from initlab.cli.commands import audit, catalog, inspect, report, run, runs, study, sweep  # noqa: F401
