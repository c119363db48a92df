"""One module per command group; importing them registers the commands on the app."""

from initlab.cli.commands import catalog, inspect, run, runs  # noqa: F401
