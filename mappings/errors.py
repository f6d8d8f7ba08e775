"""Error tables: canonical error code -> legacy HTTP status.

The legacy API answers method errors with a 200-level status and `"status":"error"` in the
body, and uses 401 for authentication, 404 for an unknown id and 500 for internal errors
(seed, "Statuses and Errors"; DESIGN.md section 4). Everything else here is a decision,
recorded in docs/errors.md.
"""

from bridge.canonical import ErrorCode

LEGACY_HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_API_KEY: 401,
    ErrorCode.ACCESS_DENIED: 401,
    ErrorCode.INVALID_AUTH_TOKEN: 401,
    ErrorCode.HTTPS_ONLY: 403,
    ErrorCode.USER_NOT_FOUND: 200,
    ErrorCode.REQUIRES_REGISTERED_USER: 200,
    ErrorCode.OFFER_NOT_AVAILABLE: 200,
    ErrorCode.MISSING_DATA: 200,
    ErrorCode.CHALLENGE_NOT_FOUND: 200,
    ErrorCode.INVALID_REQUEST_ORDER_STATUS: 200,
    ErrorCode.INVALID_ORDER_STATUS: 200,
    ErrorCode.VALIDATION: 200,
    ErrorCode.ARGUMENT_ERROR: 200,
    ErrorCode.NOT_AVAILABLE: 503,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INTERNAL_SERVER_ERROR: 500,
}
