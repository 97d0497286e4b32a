"""One openai client per configuration and event loop, for the doors that run many runs (the magic, ``eval``).

Making a client costs 30-50 ms (its SSL context loads the certificate store); a run that made its own paid that
each time. A client's connection pool belongs to the event loop it was used on, so clients are kept per loop.
The key holds the connection's fields and the model, with a digest of the API key, never the key itself.
The server keeps its own client (runs.py), replaced when the sidebar connects another model.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI

    from .config import CodeInterpreter

log = logging.getLogger(__name__)

#: Clients kept per loop; making another closes the one used longest ago (runs of one door are sequential).
MAX_PER_LOOP = 4

_clients: dict[asyncio.AbstractEventLoop, dict[tuple[Any, ...], AsyncOpenAI]] = {}


def connection_key(config: CodeInterpreter) -> tuple[Any, ...]:
    """What makes two configurations need different clients; the key only as a digest."""
    digest = hashlib.sha256(config.resolved_api_key().encode()).hexdigest()
    return (config.resolved_base_url, digest, config.max_retries, config.request_timeout, config.model)


def shared_client(config: CodeInterpreter, loop: asyncio.AbstractEventLoop | None = None) -> AsyncOpenAI:
    """The client for ``config`` on ``loop`` (default: the running one), made on first use. Not to be closed by
    its users: ``close_clients`` does, before the loop ends."""
    from .llm import make_client

    loop = loop or asyncio.get_running_loop()
    for gone in [other for other in _clients if other.is_closed()]:
        del _clients[gone]  # their clients died with their loop
    kept = _clients.setdefault(loop, {})
    key = connection_key(config)
    client = kept.pop(key, None)
    if client is None:
        client = make_client(config)
        if len(kept) >= MAX_PER_LOOP:
            oldest = next(iter(kept))
            _close_later(loop, kept.pop(oldest))
    kept[key] = client  # last used last
    return client


async def close_clients() -> None:
    """Close the clients of the running loop (before ``asyncio.run`` ends)."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await _close(client)


def _close_later(loop: asyncio.AbstractEventLoop, client: AsyncOpenAI) -> None:
    """Close ``client`` on its loop, now if it runs here, else when it next runs (the magic's, between runs)."""
    if not loop.is_closed():
        asyncio.run_coroutine_threadsafe(_close(client), loop)


async def _close(client: AsyncOpenAI) -> None:
    try:
        await client.close()
    except Exception:
        log.debug("closing a model client failed", exc_info=True)
