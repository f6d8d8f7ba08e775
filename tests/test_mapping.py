"""The mapping vocabulary: definitions are checked when created; apply, reverse, describe."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bridge.mapping import (
    Call,
    Converter,
    Field,
    Mapping,
    MappingError,
    computed,
    const,
    each,
    rename,
    same,
)


class Inner(BaseModel):
    code: str


class Source(BaseModel):
    name: str
    count: int | None = None
    inner: Inner
    items: tuple[Inner, ...] = ()


class Target(BaseModel):
    title: str
    count: int = 0
    code: str | None = None
    codes: tuple[Inner, ...] = ()


def define(*fields: object, target: type[BaseModel] = Target) -> Mapping[BaseModel]:
    return Mapping("tests.example", "request", Source, target, fields)  # type: ignore[arg-type]


def joined(source: BaseModel) -> str:
    """Name and code together."""
    assert isinstance(source, Source)
    return f"{source.name}/{source.inner.code}"


def undocumented(source: BaseModel) -> str:
    return ""


DOUBLE = Converter("double", lambda value: value * 2, lambda value: value // 2)
GIVEN = Source(name="n", count=2, inner=Inner(code="c"), items=(Inner(code="x"),))


def test_unknown_source_field_names_module_direction_and_field() -> None:
    with pytest.raises(
        MappingError, match=r"tests\.example \[request\] field 'title': source 'nom'"
    ):
        define(rename("title", "nom"))


def test_unknown_target_field_is_refused() -> None:
    with pytest.raises(MappingError, match="field 'titel': not a field of Target"):
        define(rename("titel", "name"))


def test_nested_source_path_must_exist() -> None:
    with pytest.raises(MappingError, match=r"source 'inner\.kode'"):
        define(rename("title", "inner.kode"))


def test_missing_required_target_field_is_refused() -> None:
    with pytest.raises(MappingError, match="field 'title': required target field is never set"):
        define(same("count"))


def test_a_field_set_twice_is_refused() -> None:
    with pytest.raises(MappingError, match="field 'title': target field is set twice"):
        define(rename("title", "name"), const("title", "x"))


def test_a_custom_step_needs_a_docstring() -> None:
    with pytest.raises(MappingError, match="step undocumented needs a docstring"):
        define(computed("title", undocumented, reads=("name",)))


def test_apply_builds_the_target() -> None:
    mapping = define(
        computed("title", joined, reads=("name", "inner.code")),
        same("count", DOUBLE),
        rename("code", "inner.code"),
        each("codes", "items", Mapping("tests.example", "item", Inner, Inner, (same("code"),))),
    )
    assert mapping.apply(GIVEN) == Target(title="n/c", count=4, code="c", codes=(Inner(code="x"),))


def test_apply_all_builds_each_target_as_apply_does() -> None:
    mapping = define(rename("title", "name"), same("count", DOUBLE), rename("code", "inner.code"))
    other = GIVEN.model_copy(update={"name": "m", "count": 3})
    assert mapping.apply_all([GIVEN, other]) == [mapping.apply(GIVEN), mapping.apply(other)]
    assert mapping.apply_all([]) == []
    unset = GIVEN.model_copy(update={"count": None})  # Target.count takes no None
    with pytest.raises(ValidationError, match=r"1\.count"):
        mapping.apply_all([GIVEN, unset])


def test_a_default_fills_a_missing_value() -> None:
    mapping = define(rename("title", "name"), same("count", default=7))
    assert mapping.apply(GIVEN.model_copy(update={"count": None})).count == 7


def test_renames_with_invertible_converters_reverse() -> None:
    forward = Mapping(
        "tests.example", "there", Target, Target, (same("title"), same("count", DOUBLE))
    )
    back = forward.reverse()
    assert back.apply(forward.apply(Target(title="t", count=3))) == Target(title="t", count=3)


def test_a_constant_makes_a_mapping_irreversible() -> None:
    mapping = define(rename("title", "name"), const("code", "k"))
    with pytest.raises(MappingError, match="not reversible"):
        mapping.reverse()


def test_sources_describe_every_field_for_the_coverage_matrix() -> None:
    mapping = define(rename("title", "name"), same("count", DOUBLE, default=0), const("code", "k"))
    assert mapping.sources() == {
        "title": "name",
        "count": "count (double) (default 0)",
        "code": "constant 'k'",
    }


def test_a_field_that_keeps_its_name_needs_no_line() -> None:
    mapping = define(rename("title", "name"))
    assert mapping.sources() == {"title": "name", "count": "count"}
    assert mapping.apply(GIVEN) == Target(title="n", count=2)


def test_a_field_that_keeps_its_name_is_also_looked_for_under_same_from() -> None:
    mapping = Mapping("tests.example", "request", Source, Inner, (), same_from=("inner",))
    assert mapping.sources() == {"code": "inner.code"}


def test_a_required_field_of_a_nested_target_must_be_set() -> None:
    class Holder(BaseModel):
        inner: Inner
        other: str

    with pytest.raises(MappingError, match=r"field 'inner\.code': required target field"):
        Mapping(
            "tests.example", "request", Source, Holder, (rename("other", "name"),)
        )._check_required(Holder, {"other", "inner.kode"}, "")


class Holder(BaseModel):
    inner: Inner


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (
            (rename("inner", "inner"), rename("inner.code", "name")),
            r"field 'inner\.code': 'inner' is also set as a whole",
        ),
        (
            (rename("inner.code", "name"), rename("inner", "inner")),
            "field 'inner': its fields are also set one by one",
        ),
    ],
)
def test_a_nested_target_set_whole_and_field_by_field_is_refused(
    lines: tuple[Field, ...], reason: str
) -> None:
    with pytest.raises(MappingError, match=reason):
        Mapping("tests.example", "request", Source, Holder, lines)


def test_a_reverse_that_cannot_build_its_target_is_not_reversible() -> None:
    forward = Mapping("tests.example", "there", Source, Inner, (rename("code", "name"),))
    assert not forward.reversible


def test_a_copy_is_restored_once_and_a_supplied_value_fills_the_rest() -> None:
    class Flat(BaseModel):
        title: str
        code: str

    forward = Mapping("tests.example", "there", Inner, Flat, (rename("title", "code"),))
    back = forward.reverse(source=Flat, supplied=())
    assert back.sources() == {"code": "title"}  # `code` copied into both, restored from one
    holder = Mapping("tests.example", "back", Inner, Target, (), supplied=("title",))
    assert list(holder.sources().items()) == [("title", "supplied by the caller"), ("code", "code")]
    assert holder.apply(Inner(code="c"), title="t") == Target(title="t", code="c")
    with pytest.raises(MappingError, match="supply exactly"):
        holder.apply(Inner(code="c"))


def call(**changes: object) -> Call:
    declared: dict[str, object] = {
        "module": "tests.example",
        "name": "get_thing",
        "method": "POST",
        "path": "/things",
        "request": define(rename("title", "name")),
        "response": None,
        "errors": {"thing_not_found": "not_found"},
        "read": True,
    }
    return Call(**{**declared, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"name": "Get-Thing"}, "name must be snake_case"),
        ({"method": "PUT"}, "method 'PUT' is not GET or POST"),
        ({"path": "things"}, "does not start with /"),
        ({"path": "/things/{id}"}, r"path placeholders \['id'\] are not params \(\)"),
        ({"method": "GET"}, "a POST has a request mapping, a GET none"),
        ({"method": "GET", "request": None, "read": False}, "a GET is a read"),
        ({"errors": {}}, "no error table"),
    ],
)
def test_a_bad_call_declaration_fails_when_defined(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(MappingError, match=rf"tests\.example call '[^']+': .*{reason}"):
        call(**changes)


def test_a_call_builds_its_body_and_quotes_its_path() -> None:
    declared = call(path="/things/{id}", params=("id",))
    assert declared.url(id="a/b c") == "/things/a%2Fb%20c"
    body = declared.body(name="n", count=2, inner={"code": "c"})
    assert body == {"title": "n", "count": 2, "codes": []}
