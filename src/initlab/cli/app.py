"""The ``initlab`` Typer app and its error handling: bad input is one ``error: ...`` line, exit 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pydantic
import typer
from rich.console import Console

from initlab.errors import InitlabError

app = typer.Typer(
    name="initlab",
    help="Neural-network initialization: apply schemes, inspect what they do, run reproducible studies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (logs, CI) gets wide tables rather than columns squeezed to 80 characters.
_width = None if sys.stdout.isatty() else 160
console = Console(soft_wrap=True, width=_width)
err_console = Console(stderr=True, soft_wrap=True, width=_width)

_state = {"debug": False}


def _usage_error_types() -> tuple[type[Exception], ...]:
    """Command-line usage errors: typer's own (it vendors click since 0.2x) or click's (older typer)."""
    types: list[type[Exception]] = [t for t in (getattr(typer, "TyperException", None),) if t is not None]
    try:
        import click

        types.append(click.ClickException)
    except ImportError:
        pass
    return tuple(types)


def _usage_message(exc: Exception) -> str:
    """The usage error's message, naming the value given when the option's conversion knows it.

    typer converts option values with pydantic, whose error holds the value as it was typed, while
    the message alone says only what was wrong with it (``Input should be a valid number``).
    """
    message = exc.format_message()  # type: ignore[attr-defined]
    cause, param = exc.__cause__, getattr(exc, "param", None)
    if not isinstance(cause, pydantic.ValidationError) or param is None or not cause.errors():
        return message
    value = cause.errors()[0]["input"]
    hint = exc.param_hint or " / ".join(repr(opt) for opt in param.opts)  # type: ignore[attr-defined]
    return f"Invalid value for {hint}: {value!r}: {exc.message}"  # type: ignore[attr-defined]


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    _state["debug"] = debug


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    from initlab.cli.commands import register

    args = list(sys.argv[1:] if argv is None else argv)
    register(args)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="initlab", standalone_mode=False)
    except typer.Abort:
        err_console.print("error: interrupted")
        return 130
    except _usage_error_types() as exc:
        err_console.print(f"error: {_usage_message(exc)}", markup=False, highlight=False)
        return 2
    except InitlabError as exc:
        if _state["debug"] or "--debug" in args:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        return 2
    except Exception as exc:
        if _state["debug"] or "--debug" in args:
            raise
        err_console.print(
            f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            markup=False,
            highlight=False,
        )
        return 1
    return result if isinstance(result, int) else 0
