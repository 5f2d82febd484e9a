"""Control-plane errors: the AWS error code (sent as `x-amzn-ErrorType`), its HTTP status and the
message, exactly as AWS words it."""

from __future__ import annotations

from collections.abc import Sequence

_STATUS = {
    "BadRequestException": 400,
    "ValidationException": 400,
    "UnauthorizedException": 401,
    "AccessDeniedException": 403,
    "NotFoundException": 404,
    "ConflictException": 409,
    "LimitExceededException": 429,
    "TooManyRequestsException": 429,
    "NotImplementedException": 501,
    "ServiceUnavailableException": 503,
}


class ControlError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or _STATUS.get(code, 400)


def not_found(message: str) -> ControlError:
    return ControlError("NotFoundException", message)


def bad_request(message: str) -> ControlError:
    return ControlError("BadRequestException", message)


def conflict(message: str) -> ControlError:
    return ControlError("ConflictException", message)


def enum_violation(value: object, where: str, allowed: Sequence[str]) -> str:
    """One of `validation`'s errors: a member outside its enum, in AWS's wording."""
    return (f"Value '{value}' at '{where}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def validation(errors: list[str]) -> ControlError:
    """AWS's input-validation error: `N validation error(s) detected: a; b`."""
    count = len(errors)
    noun = "error" if count == 1 else "errors"
    return ControlError("ValidationException", f"{count} validation {noun} detected: {'; '.join(errors)}")
