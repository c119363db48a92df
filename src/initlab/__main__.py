"""``python -m initlab`` runs the command line."""

from initlab.cli import main

main()
