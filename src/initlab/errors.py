"""initlab's one exception family.

Every error a user can cause (an unknown name, an out-of-range value, a missing or corrupt file)
is an :class:`InitlabError` whose message names the bad value and what is allowed. The CLI prints
the message on one line and exits with status 2; library callers can catch the family at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InitlabError(Exception):
    """Base of every error initlab raises on bad input or missing data."""


class ConfigError(InitlabError, ValueError):
    """A configuration value is invalid (wrong type, out of range, malformed file)."""


class UnknownNameError(ConfigError, KeyError):
    """A name (dataset, model, scheme, probe, ...) is not registered."""

    def __init__(self, kind: str, name: str, allowed: Iterable[str]):
        allowed = sorted(allowed)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        super().__init__(f"unknown {kind} {name!r}{hint}; allowed: {', '.join(allowed)}")
        self.kind, self.name, self.allowed = kind, name, allowed

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class DataError(InitlabError):
    """A dataset cannot be loaded: no source has it, or a file fails its checksum."""


class ChecksumError(DataError):
    """A data file's MD5 differs from the official one."""


class SchemeError(InitlabError):
    """An init scheme cannot be applied to this model (missing structure, wrong shapes)."""


def one_of(kind: str, value: object, allowed: Iterable[object]) -> ConfigError:
    """The error for ``value`` not being one of ``allowed``."""
    return ConfigError(f"{kind}={value!r} is not allowed; allowed: {', '.join(map(str, allowed))}")
