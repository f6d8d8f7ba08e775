"""Domain errors and the legacy edge's one table (mappings/errors.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bridge import errors as e
from bridge.canonical import ErrorCode, OrderStatus
from mappings.errors import LEGACY, LEGACY_HTTP_STATUS


def _domain_errors(root: type[e.DomainError]) -> set[type[e.DomainError]]:
    children = set(root.__subclasses__())
    return children.union(*(_domain_errors(child) for child in children))


def test_every_domain_error_has_exactly_one_row() -> None:
    assert _domain_errors(e.DomainError) == set(LEGACY)


def test_every_row_names_a_code_with_a_status() -> None:
    assert {row.code for row in LEGACY.values()} <= set(LEGACY_HTTP_STATUS)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (e.InsufficientPoints("c1", 5, 10), "offer_not_available",
         "The customer does not have enough points for this order."),
        (e.OutOfStock(2, 0, 1), "offer_not_available", "The reward is out of stock."),
        (e.UnknownOrder(7), "not_found", "Order 7 was not found."),
        (e.UnknownOrder("ext-1"), "not_found", "Order 'ext-1' was not found."),
        (e.InvalidStatusTransition(7, OrderStatus.APPROVED, OrderStatus.REJECTED),
         "invalid_order_status", "An order that is approved cannot become rejected."),
        (e.QuantityOverLimit(101, 100), "validation", "order.quantity must be at most 100."),
        (e.DuplicateExternalId("x"), "validation", "An order with external_id 'x' already exists."),
        (e.UnknownSubdivision("US", "ZZ"), "validation",
         "shipping_address.state_province must be an ISO 3166-2 subdivision of US."),
        (e.ConcurrentStatusChange(7, OrderStatus.APPROVED), "invalid_order_status",
         "Order 7 changed status concurrently; it cannot become approved."),
        (e.ExternalIdSettling("x"), "not_available",
         "An order with external_id 'x' is still being settled; try again later."),
        (e.KeyInProgress("k"), "not_available",
         "A request with Idempotency-Key 'k' is still in progress; retry later."),
        (e.KeyUnfinished("k"), "not_available",
         "The request with Idempotency-Key 'k' did not finish; retry later."),
    ],
)  # fmt: skip
def test_a_domain_error_renders_its_row_over_its_facts(
    error: e.DomainError, code: str, message: str
) -> None:
    assert (error.code, error.message, str(error)) == (ErrorCode(code), message, message)


def test_a_domain_error_keeps_its_facts() -> None:
    refusal = e.InsufficientPoints("c1", balance=5, cost=10)
    assert (refusal.customer_id, refusal.balance, refusal.cost) == ("c1", 5, 10)
    assert isinstance(refusal, e.RuleError)


def _rule_errors_made_outside_the_error_module() -> list[str]:
    """`RuleError(...)` calls in bridge/ and mappings/: a refusal written as text, not facts."""
    root = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted([*root.glob("bridge/**/*.py"), *root.glob("mappings/**/*.py")]):
        if path == root / "bridge" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "RuleError"
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_every_refusal_is_a_domain_error_with_its_row() -> None:
    """A refusal is raised as a domain error (facts), its text in the one table; a bare
    `RuleError(code, "text")` would put a message back in the code."""
    assert _rule_errors_made_outside_the_error_module() == []
