"""The mapping vocabulary: the small declared objects every mapping module is built from.

A mapping module declares, for one upstream call and one direction, a `Mapping`: the model it
reads (`source`), the model it builds (`target`) and one line per target field that does not
simply keep its name:

    rename("user_offer_id", "user_offer.user_offer_id")     target <- a dotted source path
    rename("acquired_at", "user_offer.acquire_date", ISO)   ... through a named converter
    rename("culture", "culture", default="en-US")           ... with a default for a missing value
    same("country", UPPER)                                  same name, through a converter
    const("reason", "rejected")                             a constant
    computed("points", total_available, reads=("details",)) a small named function of the source
    each("offers", "reward_store_offers", OFFER)            a list, item by item, with a Mapping

`same()` is the default: a target field with no line takes the source field of the same name,
looked for in the source itself and then under each path of `same_from` (a request reads the
call's inputs, then the tenant config: `same_from=("tenant",)`). A field neither written nor
found keeps the target model's default.

Definitions are checked when they are created, so a broken mapping fails at import (that is,
at start-up) with a `MappingError` naming the module, the direction and the field: unknown
source or target paths, a target field set twice, a required target field left unset (nested
models included), a custom step without a docstring.

A mapping made only of renames and lists whose converters can be inverted, whose other
direction sets every field its target requires, is *reversible*: `reverse()` gives the other
direction (declared once, used both ways). A source field read by two lines (a copy) is
restored from the first. The reverse may read a more tolerant model with the same paths
(`reverse(source=...)`) and take values the forward side does not carry from its caller
(`reverse(supplied=("app",))`, then `apply(wire, app=...)`).

A mapping is compiled when it is defined: its lines become the text of one Python function
(`Mapping.code`), a dict display of the target's fields whose values are the lines' reads,
conversions and steps, so `apply` runs no lookup of the declaration and no call per line; the
built fields are then validated once by the target model (`apply_all` validates a whole list
in one call). Nothing is validated twice: the source is a validated model, the target is
checked as it is built.

`Call` declares one upstream call: its name (the metric and log label), method, path, the
request and response mappings and the error table its answers are read with.

This module is pure (no I/O, clock or logging); an import-linter contract keeps it so.
"""

from __future__ import annotations

import re
import string
import types
import typing
from collections.abc import Callable, Iterable
from collections.abc import Mapping as Table
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, TypeAdapter

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
        if self.forward is self.backward:
            return self  # its own inverse (as is, or a symmetric conversion)
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

    def expression(self, source: type[BaseModel], bind: Callable[[Any], str]) -> str:
        """The line as a Python expression of `source` (a `source` model), for the function
        `Mapping` compiles; `bind` names a value the expression uses. A plain read is an
        attribute lookup, made None-safe only where the path can meet None."""
        if self.value is not MISSING:
            return bind(self.value)
        if self.compute is not None:
            return f"{bind(self.compute)}(source)"
        read = _read(source, self.source or "", bind)
        if self.item is not None:
            return f"(None if (value := {read}) is None else {bind(self.item)}.apply_all(value))"
        if self.convert is IDENTITY and self.default is MISSING:
            return read
        absent = "None" if self.default is MISSING else bind(self.default)
        converted = "value" if self.convert is IDENTITY else f"{bind(self.convert.forward)}(value)"
        return f"({absent} if (value := {read}) is None else {converted})"


def same(name: str, convert: Converter = IDENTITY, *, default: Any = MISSING) -> Field:
    """Same name on both sides, through a converter or with a default (otherwise implicit)."""
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
    """The declared lines; `lines` adds the implicit `same()` ones."""
    same_from: tuple[str, ...] = ()
    """Source paths searched, after the source itself, for a field that keeps its name."""
    supplied: tuple[str, ...] = ()
    """Target fields the caller of `apply` gives, by keyword."""
    lines: tuple[Field, ...] = field(init=False, repr=False, compare=False)
    _build: Callable[[Any, dict[str, Any]], dict[str, Any]] = field(
        init=False, repr=False, compare=False
    )
    """The target's fields as a dict, from a source and the supplied values: the one function
    the lines compile to (`code` is its text)."""
    code: str = field(init=False, repr=False, compare=False)
    _many: TypeAdapter[list[T]] = field(init=False, repr=False, compare=False)
    """Validates a list of built targets in one call (`apply_all`)."""

    def __post_init__(self) -> None:
        seen: set[str] = set(self.supplied)
        for line in self.fields:
            self._check_line(line, seen)
        order = {name: index for index, name in enumerate(self.target.model_fields)}
        lines = tuple(
            sorted(
                self.fields + self._implicit(seen),
                key=lambda line: order[line.target.split(".")[0]],
            )
        )
        self._check_required(self.target, {line.target for line in lines} | seen, "")
        object.__setattr__(self, "lines", lines)
        self._compile(lines)

    def _compile(self, lines: tuple[Field, ...]) -> None:
        """`_build`, generated once from the lines: one dict display of the target's fields
        (nested targets as nested displays), each value its line's expression, so `apply`
        runs no lookup of the declaration and no call per line."""
        namespace: dict[str, Any] = {}

        def bind(value: Any) -> str:
            name = f"_{len(namespace)}"
            namespace[name] = value
            return name

        tree: dict[str, Any] = {}
        for line in lines:
            *parents, last = line.target.split(".")
            node = tree
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise self._error(line.target, f"{part!r} is also set as a whole")
            if isinstance(node.get(last), dict):
                raise self._error(line.target, "its fields are also set one by one")
            node[last] = line.expression(self.source, bind)
        supplied = ["**supplied"] if self.supplied else []
        code = f"def build(source, supplied):\n    return {_display(tree, supplied)}\n"
        exec(compile(code, f"<mapping {self.module} [{self.direction}]>", "exec"), namespace)  # noqa: S102 - code generated from the declaration
        object.__setattr__(self, "_build", namespace["build"])
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "_many", TypeAdapter(list[self.target]))  # type: ignore[name-defined]

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

    def _implicit(self, seen: set[str]) -> tuple[Field, ...]:
        """`same()` for every target field no line sets, where the source has that name."""
        tops = {path.split(".")[0] for path in seen}
        lines = []
        for name in self.target.model_fields:
            if name in tops:
                continue
            for prefix in ("", *self.same_from):
                path = f"{prefix}.{name}" if prefix else name
                if _resolves(self.source, path):
                    lines.append(rename(name, path))
                    break
        return tuple(lines)

    def _check_required(self, model: type[BaseModel], paths: set[str], prefix: str) -> None:
        for name, info in model.model_fields.items():
            path = prefix + name
            if path in paths or not info.is_required():
                continue
            nested = _model_of(info.annotation)
            below = {p for p in paths if p.startswith(path + ".")}
            if nested is None or not below:
                raise self._error(path, "required target field is never set")
            self._check_required(nested, paths, path + ".")

    def apply(self, source: BaseModel, **supplied: Any) -> T:
        """Build the target model from a source model (and the `supplied` values)."""
        self._check_supplied(supplied)
        built: T = self.target.__pydantic_validator__.validate_python(
            self._build(source, supplied)
        )  # model_validate without its wrapper
        return built

    def apply_all(self, sources: Iterable[BaseModel], **supplied: Any) -> list[T]:
        """`apply` to each source, the targets validated in one pass (a list, a page)."""
        self._check_supplied(supplied)
        return self._many.validate_python([self._build(source, supplied) for source in sources])

    def _check_supplied(self, supplied: dict[str, Any]) -> None:
        if (supplied or self.supplied) and supplied.keys() != set(self.supplied):
            raise self._error(", ".join(sorted(supplied)), f"supply exactly {self.supplied}")

    @property
    def reversible(self) -> bool:
        """Whether `reverse()` gives a mapping that can build this mapping's source."""
        try:
            self.reverse()
        except MappingError:
            return False
        return True

    def reverse(
        self, *, source: type[BaseModel] | None = None, supplied: tuple[str, ...] = ()
    ) -> Mapping[Any]:
        """The other direction: only renames with invertible converters and reversible lists.

        `source`: a model with this mapping's target paths to read instead (a tolerant one);
        `supplied`: fields of this mapping's source the caller gives instead."""
        lines: list[Field] = []
        restored: set[str] = set()
        for line in self.lines:
            if line.kind not in ("rename", "each"):
                raise self._error(line.target, f"mapping is not reversible (a {line.kind} line)")
            if line.source in restored:
                continue  # a copy: restored from the first line that reads it
            assert line.source is not None
            restored.add(line.source)
            lines.append(_reverse_line(line, self._error))
        return Mapping(
            self.module,
            f"{self.direction}, reversed",
            source or self.target,
            self.source,
            tuple(lines),
            supplied=supplied,
        )

    def sources(self) -> dict[str, str]:
        """Target field -> where its value comes from (the coverage matrix's cells), in the
        target's field order; a `supplied` field comes from the caller."""
        cells = {line.target: line.describe() for line in self.lines}
        cells |= {name: "supplied by the caller" for name in self.supplied}
        order = {name: index for index, name in enumerate(self.target.model_fields)}
        return dict(sorted(cells.items(), key=lambda cell: order[cell[0].split(".")[0]]))


def _reverse_line(line: Field, error: Callable[[str, str], MappingError]) -> Field:
    assert line.source is not None
    if line.item is not None:
        return each(line.source, line.target, line.item.reverse())
    if line.convert.backward is None:
        raise error(
            line.target, f"mapping is not reversible ({line.convert.name!r} has no inverse)"
        )
    return rename(line.source, line.target, line.convert.inverse())


_PLACEHOLDER = string.Formatter()
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Call:
    """One upstream call, declared once: what the client sends, where, and how it is read.

    `name` is the call's label in metrics and logs; `params` the path's placeholders (filled,
    each URL-quoted, by `url`); `request` builds the body from the call's inputs (None for a
    call without a body); `response` reads the answer's payload (None when nothing in it is
    used); `errors` is the table the answer's error code is read with; `read` says whether the
    call only reads (reads are retried, writes never)."""

    module: str
    name: str
    method: str
    path: str
    request: Mapping[Any] | None
    response: Mapping[Any] | None
    errors: Table[str, object]
    read: bool
    params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise self._error("name must be snake_case (it is a metric label)")
        if self.method not in ("GET", "POST"):
            raise self._error(f"method {self.method!r} is not GET or POST")
        if not self.path.startswith("/"):
            raise self._error(f"path {self.path!r} does not start with /")
        names = {name for _text, name, _spec, _conv in _PLACEHOLDER.parse(self.path) if name}
        if names != set(self.params):
            raise self._error(f"path placeholders {sorted(names)} are not params {self.params}")
        if (self.method == "GET") != (self.request is None):
            raise self._error("a POST has a request mapping, a GET none")
        if self.method == "GET" and not self.read:
            raise self._error("a GET is a read")
        if not self.errors:
            raise self._error("no error table")

    def _error(self, reason: str) -> MappingError:
        return MappingError(f"{self.module} call {self.name!r}: {reason}")

    def url(self, **params: str) -> str:
        """The path with every placeholder filled, URL-quoted."""
        return self.path.format(**{name: quote(value, safe="") for name, value in params.items()})

    def body(self, **inputs: Any) -> dict[str, Any]:
        """The request body for these inputs, as JSON values, without nulls."""
        request = self.request
        assert request is not None
        # pydantic's validator and serializer called directly: what model_validate and
        # model_dump run, without their Python wrappers (a quarter of a body's cost)
        wire = request.apply(request.source.__pydantic_validator__.validate_python(inputs))
        body: dict[str, Any] = request.target.__pydantic_serializer__.to_python(
            wire, mode="json", exclude_none=True
        )
        return body


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


def _read(model: type[BaseModel], path: str, bind: Callable[[Any], str]) -> str:
    """A source path's read, as an expression of `source`: one attribute lookup where no model
    on the way can be None (a validated source then holds a model at each step), else step by
    step, None-safe."""
    *parents, _last = parts = tuple(path.split("."))
    for part in parents:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return f"{bind(_get)}(source, {parts!r})"
        model = annotation
    return f"source.{path}"


def _display(tree: dict[str, Any], extra: list[str]) -> str:
    """A dict display of a tree of expressions (a nested dict for a nested target)."""
    items = [
        f"{name!r}: {_display(value, []) if isinstance(value, dict) else value}"
        for name, value in tree.items()
    ]
    return "{" + ", ".join(items + extra) + "}"


def _get(source: Any, parts: tuple[str, ...]) -> Any:
    value = source
    for part in parts:
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part)
    return value
