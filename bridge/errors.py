"""The bridge's exceptions. Every error an integrator can see is one of these.

    BridgeError              root: .code (ErrorCode), .message
     +-- RequestError        the request itself is wrong (.field names the culprit)
     +-- AuthError           the app or its credentials are not recognised
     +-- RuleError           a legacy business rule refused the call
     +-- UpstreamError       a backend could not be reached or answered badly

One table (`mappings.errors.LEGACY_HTTP_STATUS`) turns a code into an HTTP status; one
middleware (`bridge.legacy.middleware`) renders every error as the legacy envelope.
"""

from __future__ import annotations

from bridge.canonical import ErrorCode


class BridgeError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RequestError(BridgeError):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field


class AuthError(BridgeError):
    pass


class RuleError(BridgeError):
    pass


class UpstreamError(BridgeError):
    def __init__(self, message: str, upstream: str) -> None:
        super().__init__(ErrorCode.NOT_AVAILABLE, message)
        self.upstream = upstream
