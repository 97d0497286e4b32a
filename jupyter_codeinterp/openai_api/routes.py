"""Every route of ``/codeinterp/v1``, in matching order: an unknown one last, refused in OpenAI's shape."""

from __future__ import annotations

from typing import Any

from .handlers import V1, UnknownRouteHandler, facade_routes
from .handlers_assistants import assistant_routes


def routes() -> list[tuple[str, Any]]:
    return [*facade_routes(), *assistant_routes(), (f"{V1}/.*", UnknownRouteHandler)]
