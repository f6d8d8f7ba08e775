"""The mapping vocabulary: the small declared objects every mapping module is built from.

A mapping module declares, for one upstream call and one direction, a `Mapping`: the model it
reads (`source`), the model it builds (`target`) and one line per target field:

    same("user_id")                                         target.user_id <- source.user_id
    rename("user_offer_id", "user_offer.user_offer_id")     target <- a dotted source path
    rename("acquired_at", "user_offer.acquire_date", ISO)   ... through a named converter
    rename("culture", "culture", default="en-US")           ... with a default for a missing value
    const("reason", "rejected")                             a constant
    computed("points", total_available, reads=("details",)) a small named function of the source
    each("offers", "reward_store_offers", OFFER)            a list, item by item, with a Mapping

Definitions are checked when they are created, so a broken mapping fails at import (that is,
at start-up) with a `MappingError` naming the module, the direction and the field: unknown
source or target paths, a target field set twice, a required target field left unset, a custom
step without a docstring.

A mapping made only of renames and lists whose converters can be inverted is *reversible*:
`reverse()` gives the other direction, which the golden tests use to prove round trips.

This module is pure (no I/O, clock or logging); an import-linter contract keeps it so.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T", bound=BaseModel)


class MappingError(ValueError):
    """A mapping definition is broken; the message names module, direction and field."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Converter:
    """A named value conversion; `backward` (when given) undoes `forward`."""

    name: str
    forward: Callable[[Any], Any]
    backward: Callable[[Any], Any] | None = None

    def inverse(self) -> Converter:
        if self.backward is None:
            raise MappingError(f"converter {self.name!r} has no inverse")
        return Converter(f"inverse of {self.name}", self.backward, self.forward)

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.forward(value)


def _identity(value: Any) -> Any:
    return value


IDENTITY = Converter("as is", _identity, _identity)


@dataclass(frozen=True)
class Field:
    """One line of a mapping table: how one target field gets its value."""

    target: str
    source: str | None = None
    convert: Converter = IDENTITY
    default: Any = MISSING
    value: Any = MISSING
    compute: Callable[[Any], Any] | None = None
    reads: tuple[str, ...] = ()
    item: Mapping[Any] | None = None

    @property
    def kind(self) -> str:
        if self.item is not None:
            return "each"
        if self.compute is not None:
            return "computed"
        if self.value is not MISSING:
            return "const"
        return "rename"

    def describe(self) -> str:
        """Where the value comes from, for the coverage matrix."""
        if self.kind == "const":
            return f"constant {self.value!r}"
        if self.kind == "computed" and self.compute is not None:
            return f"{self.compute.__name__}({', '.join(self.reads)})"
        suffix = "" if self.convert is IDENTITY else f" ({self.convert.name})"
        if self.default is not MISSING:
            suffix += f" (default {self.default!r})"
        return f"{self.source}{suffix}"


def same(name: str, convert: Converter = IDENTITY, *, default: Any = MISSING) -> Field:
    return Field(target=name, source=name, convert=convert, default=default)


def rename(
    target: str, source: str, convert: Converter = IDENTITY, *, default: Any = MISSING
) -> Field:
    return Field(target=target, source=source, convert=convert, default=default)


def const(target: str, value: Any) -> Field:
    return Field(target=target, value=value)


def computed(target: str, function: Callable[[Any], Any], *, reads: tuple[str, ...]) -> Field:
    return Field(target=target, compute=function, reads=reads)


def each(target: str, source: str, item: Mapping[Any]) -> Field:
    return Field(target=target, source=source, item=item)


@dataclass(frozen=True)
class Mapping(Generic[T]):
    """One direction of one call: `source` model -> `target` model, field by field."""

    module: str
    direction: str
    source: type[BaseModel]
    target: type[T]
    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for line in self.fields:
            self._check_line(line, seen)
        for name, info in self.target.model_fields.items():
            if info.is_required() and name not in {path.split(".")[0] for path in seen}:
                raise self._error(name, "required target field is never set")

    def _error(self, field: str, reason: str) -> MappingError:
        return MappingError(f"{self.module} [{self.direction}] field {field!r}: {reason}")

    def _check_line(self, line: Field, seen: set[str]) -> None:
        if line.target in seen:
            raise self._error(line.target, "target field is set twice")
        seen.add(line.target)
        if not _resolves(self.target, line.target):
            raise self._error(line.target, f"not a field of {self.target.__name__}")
        for path in (line.source,) if line.source is not None else line.reads:
            if not _resolves(self.source, path):
                raise self._error(line.target, f"source {path!r} is not in {self.source.__name__}")
        if line.compute is not None and not (line.compute.__doc__ or "").strip():
            raise self._error(line.target, f"step {line.compute.__name__} needs a docstring")

    def apply(self, source: BaseModel) -> T:
        """Build the target model from a source model."""
        built: dict[str, Any] = {}
        for line in self.fields:
            _put(built, line.target, self._value(line, source))
        return self.target.model_validate(built)

    def _value(self, line: Field, source: BaseModel) -> Any:
        if line.kind == "const":
            return line.value
        if line.compute is not None:
            return line.compute(source)
        raw = _get(source, line.source or "")
        if line.item is not None:
            item = line.item
            return None if raw is None else [item.apply(element) for element in raw]
        if raw is None and line.default is not MISSING:
            return line.default
        return line.convert(raw)

    @property
    def reversible(self) -> bool:
        """Only renames and lists, every converter invertible, every nested list reversible."""
        return all(
            (line.kind == "rename" and line.convert.backward is not None)
            or (line.kind == "each" and line.item is not None and line.item.reversible)
            for line in self.fields
        )

    def reverse(self) -> Mapping[Any]:
        """The other direction; a MappingError when this mapping is not reversible."""
        if not self.reversible:
            raise self._error("*", "mapping is not reversible")
        lines = tuple(_reverse_line(line) for line in self.fields)
        return Mapping(self.module, f"{self.direction}, reversed", self.target, self.source, lines)

    def sources(self) -> dict[str, str]:
        """Target field -> where its value comes from (the coverage matrix's cells)."""
        return {line.target: line.describe() for line in self.fields}


def _reverse_line(line: Field) -> Field:
    assert line.source is not None
    if line.item is not None:
        return each(line.source, line.target, line.item.reverse())
    return rename(line.source, line.target, line.convert.inverse())


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `X`, `X | None` or `tuple[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for argument in typing.get_args(annotation):
            model = _model_of(argument)
            if model is not None:
                return model
    return None


def _resolves(model: type[BaseModel] | None, path: str) -> bool:
    for part in path.split("."):
        if model is None or part not in model.model_fields:
            return False
        model = _model_of(model.model_fields[part].annotation)
    return True


def _get(source: Any, path: str) -> Any:
    value = source
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part)
    return value


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
