"""The ``initlab`` command line."""

import sys

from initlab.cli.app import app
from initlab.cli.app import main as _main

__all__ = ["app", "main"]


def main() -> None:
    sys.exit(_main())
