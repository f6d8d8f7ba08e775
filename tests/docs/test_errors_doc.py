"""docs/errors.md lists every error code with the HTTP status that mappings/errors.py gives."""

from __future__ import annotations

from bridge.canonical import ErrorCode
from bridge.legacy.middleware import HTTP_ERRORS
from mappings.errors import LEGACY_HTTP_STATUS
from tests.docs.markdown import read_doc, table_rows, unticked


def documented_statuses() -> dict[str, int]:
    rows = table_rows(read_doc("errors.md"), "Code")
    return {unticked(row[0]): int(row[1]) for row in rows}


def test_every_error_code_is_documented() -> None:
    missing = {code.value for code in ErrorCode} - documented_statuses().keys()
    assert not missing, f"docs/errors.md lacks codes: {sorted(missing)}"


def test_documented_codes_exist() -> None:
    unknown = documented_statuses().keys() - {code.value for code in ErrorCode}
    assert not unknown, f"docs/errors.md lists codes the bridge does not have: {sorted(unknown)}"


def test_documented_http_statuses_match_the_table() -> None:
    expected = {code.value: status for code, status in LEGACY_HTTP_STATUS.items()}
    documented = documented_statuses()
    wrong = {code: documented[code] for code in expected if documented.get(code) != expected[code]}
    assert not wrong, f"docs/errors.md disagrees with LEGACY_HTTP_STATUS: {wrong}"


def test_every_code_has_an_http_status() -> None:
    assert set(LEGACY_HTTP_STATUS) == set(ErrorCode)


def test_aiohttp_errors_table_matches_the_middleware() -> None:
    rows = table_rows(read_doc("errors.md"), "aiohttp status")
    documented = {int(row[0]): unticked(row[1]) for row in rows if row[0].isdigit()}
    assert documented == {status: code.value for status, (code, _) in HTTP_ERRORS.items()}
