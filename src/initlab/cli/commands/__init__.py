"""One module per command group; importing one registers its commands on the app.

``initlab`` imports only the module of the command it runs (:data:`COMMAND_MODULES`), so the reading
commands (``runs``, ``export``, ``report``) start without torch; help and unknown commands import all.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

#: Each command (or command group) and the module under ``initlab.cli.commands`` that registers it.
COMMAND_MODULES = {
    "audit": "audit",
    "coord-check": "coord",
    "datasets": "catalog",
    "export": "runs",
    "inspect": "inspect",
    "models": "catalog",
    "probes": "catalog",
    "report": "report",
    "run": "run",
    "runs": "runs",
    "schemes": "catalog",
    "study": "study",
    "sweep": "sweep",
}


def register(args: Sequence[str]) -> None:
    """Register the command that ``args`` (the command line after ``initlab``) names, or every command
    when it names none that is known (``--help``, a typo: the app then lists them all)."""
    command = next((a for a in args if not a.startswith("-")), None)
    modules = (
        [COMMAND_MODULES[command]] if command in COMMAND_MODULES else sorted(set(COMMAND_MODULES.values()))
    )
    for module in modules:
        importlib.import_module(f"{__name__}.{module}")
