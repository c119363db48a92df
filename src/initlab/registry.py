"""Named registries whose entries carry typed, validated parameters (in the manner of timm's registries).

A registered function declares its user-facing parameters as keyword-only arguments with type hints
and defaults; ranges and choices go in the hints (``Annotated[float, Field(ge=0)]``,
``Literal["normal", "uniform"]``). The registry turns that signature into a pydantic model, so every
caller — Python, TOML or the command line — gets the same coercion ("1" -> 1.0), the same defaults
and the same one-line errors naming the bad value and the allowed ones.

Arguments the framework passes itself (the model, a generator, the split) are positional or listed in
``injected`` and are not user parameters.

A parameter added to an entry after runs of it were stored is listed in the entry's
``keyless_defaults`` metadata: at its default it is left out of the resolved params (the function
then takes its default), so the run keys of the configs stored before it existed do not change.

A registry made ``importable`` also takes import paths ``package.module:factory`` as names (see
:mod:`initlab.imports`): the factory — a class or a function — is imported on first use, and its
named parameters, keyword-only or not, are its user parameters. Names a registry lacks are looked
for once in the ``initlab.plugins`` entry points before they are refused.
"""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pydantic

from initlab.errors import ConfigError, UnknownNameError
from initlab.imports import import_object, is_import_path, load_plugins

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[F]):
    """One registered function with its metadata and its parameter model."""

    name: str
    fn: F
    params: type[pydantic.BaseModel]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (inspect.getdoc(self.fn) or "").split("\n", 1)[0]

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.fn) or ""

    def param_table(self) -> list[tuple[str, str, str]]:
        """Rows ``(name, type and range, default)`` for listings."""
        rows = []
        for pname, finfo in self.params.model_fields.items():
            kind = _describe_annotation(finfo.annotation)
            bounds = [
                f"{sym}{getattr(m, attr)}"
                for m in finfo.metadata
                for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
                if getattr(m, attr, None) is not None
            ]
            if bounds:
                kind += f" ({', '.join(bounds)})"
            default = "required" if finfo.is_required() else repr(finfo.default)
            rows.append((pname, kind, default))
        return rows

    def takes(self, argument: str) -> bool:
        """Whether the function accepts keyword ``argument`` (e.g. an injected ``num_classes``)."""
        parameters = inspect.signature(self.fn).parameters
        return argument in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Coerce and check user params; fill defaults. Raise ConfigError naming what is wrong."""
        kind = self.meta.get("kind", "entry")
        allowed = list(self.params.model_fields)
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ConfigError(
                f"unknown parameter {unknown[0]!r} for {kind} {self.name!r}; "
                f"allowed: {', '.join(allowed) or '(none)'}"
            )
        try:
            resolved = self.params.model_validate(dict(params)).model_dump()
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            pname, *inner = [str(p) for p in err["loc"]] or ["?"]
            where = f" (at {'.'.join(inner)})" if inner else ""
            raise ConfigError(
                f"{kind} {self.name!r}: {pname}={params.get(pname)!r} is invalid{where}: {err['msg']}"
            ) from None
        for pname in self.meta.get("keyless_defaults", ()):
            if resolved[pname] == self.params.model_fields[pname].default:
                del resolved[pname]
        for pname, value in resolved.items():
            found = _non_finite(value, pname)
            if found is not None:
                raise ConfigError(
                    f"{kind} {self.name!r}: {found[0]}={found[1]!r} is invalid: not a finite number"
                )
        return resolved


def _non_finite(value: Any, where: str) -> tuple[str, float] | None:
    """The first infinite or NaN float in ``value`` (nested in dicts and lists too, as in a composed
    scheme's ``body_params``) and where it is, e.g. ``("body_params.std", inf)``; None if none.

    No param of a scheme, model, probe or dataset means anything infinite or NaN (``scale=inf`` would
    train a run that diverges at step 0 and store ``scale: null``), so every one is refused here.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, value)
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}")
        if found is not None:
            return found
    return None


def _describe_annotation(annotation: Any) -> str:
    """``Literal["a", "b"]`` -> ``a | b``; ``float`` -> ``float``; ``bool | Annotated[int, ...]`` ->
    ``bool | int``; others as typing prints them."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(str(choice) for choice in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_describe_annotation(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _describe_annotation(typing.get_args(annotation)[0])
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "")


def _params_model(
    name: str,
    fn: Callable[..., Any],
    injected: frozenset[str],
    kinds: frozenset[inspect._ParameterKind] = frozenset({inspect.Parameter.KEYWORD_ONLY}),
) -> type[pydantic.BaseModel]:
    """A pydantic model of ``fn``'s parameters of ``kinds``, less the ``injected`` ones."""
    fields: dict[str, Any] = {}
    for pname, p in inspect.signature(fn, eval_str=True).parameters.items():
        if p.kind not in kinds or pname in injected:
            continue
        annotation = p.annotation if p.annotation is not inspect.Parameter.empty else Any
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[pname] = (annotation, default)
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return pydantic.create_model(f"Params_{name}", __config__=config, **fields)


class Registry(Generic[F]):
    """A name -> :class:`Entry` map for one kind of thing ("scheme", "model", "dataset", ...)."""

    def __init__(self, kind: str, injected: tuple[str, ...] = (), *, importable: bool = False):
        self.kind = kind
        self.injected = frozenset(injected)
        self.importable = importable
        self._entries: dict[str, Entry[F]] = {}
        self._imported: dict[str, Entry[F]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[F], F]:
        """Decorator: register ``fn`` under ``name`` with metadata (family, paper, ...)."""

        def decorator(fn: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            params = _params_model(name, fn, self.injected)
            self._entries[name] = Entry(name, fn, params, {"kind": self.kind, **meta})
            return fn

        return decorator

    def get(self, name: str) -> Entry[F]:
        """The entry registered as ``name``, or imported from ``name`` if it is an import path."""
        if name in self._entries:
            return self._entries[name]
        if self.importable and is_import_path(name):
            return self._import(name)
        load_plugins()
        if name in self._entries:
            return self._entries[name]
        error = UnknownNameError(self.kind, name, self._entries)
        if self.importable:
            error.args = (f"{error.args[0]}; or an import path package.module:factory",)
        raise error from None

    def _import(self, path: str) -> Entry[F]:
        """The entry of the factory at import path ``path``, imported once per process."""
        if path not in self._imported:
            fn = import_object(path)
            if not callable(fn):
                raise ConfigError(
                    f"{self.kind} {path!r} is not a class or a function but of type {type(fn).__name__}"
                )
            kinds = frozenset({inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY})
            try:
                params = _params_model(path.replace(":", "_"), fn, self.injected, kinds)
            except Exception as exc:
                raise ConfigError(
                    f"cannot read the parameters of {self.kind} {path!r}: {type(exc).__name__}: {exc}"
                ) from None
            self._imported[path] = Entry(path, fn, params, {"kind": self.kind})
        return self._imported[path]

    def names(self) -> list[str]:
        load_plugins()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[F]]:
        load_plugins()
        return iter(self._entries.values())

    def __len__(self) -> int:
        load_plugins()
        return len(self._entries)
