"""Helpers shared by the legacy request mappings: unwrap the `order` root, explain errors."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bridge.canonical import ErrorCode
from bridge.errors import RequestError

WireT = TypeVar("WireT", bound=BaseModel)


def unwrap_order(body: Any) -> dict[str, Any]:
    """Legacy bodies are wrapped in a root named after the resource: `{"order": {...}}`."""
    if not isinstance(body, dict) or "order" not in body or body["order"] is None:
        raise RequestError(
            ErrorCode.MISSING_DATA, "The request body must contain an 'order' object.", "order"
        )
    order = body["order"]
    if not isinstance(order, dict):
        raise RequestError(ErrorCode.ARGUMENT_ERROR, "'order' must be a JSON object.", "order")
    return order


def parse_wire(model: type[WireT], data: dict[str, Any]) -> WireT:
    """Validate a wire body; the first problem becomes a `validation` error naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in ("order", *problem["loc"]))
        raise RequestError(ErrorCode.VALIDATION, f"{field}: {problem['msg']}", field=field) from exc
