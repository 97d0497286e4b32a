"""Errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with the status codes the
``openai`` SDK maps to its exception classes (400 BadRequestError, 401 AuthenticationError, 404 NotFoundError,
409 ConflictError, 413 and 5xx APIStatusError)."""

from __future__ import annotations

from typing import Any


class OpenAIError(Exception):
    """A refusal of the facade: what the client sent (or asked for) cannot be served, and why."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def not_found(kind: str, object_id: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(404, f"No {kind} found with id '{object_id}'.", param=param, code="not_found")


def unsupported(param: str, why: str = "") -> OpenAIError:
    """A parameter the local server does not serve: named, never silently ignored."""
    tail = f" {why}" if why else ""
    return OpenAIError(
        400,
        f"Unsupported parameter: '{param}' is not supported by this server.{tail}",
        param=param,
        code="unsupported_parameter",
    )
