"""The model connection a user sets at runtime ("Connect a model" in the sidebar), and which settings win.

Users on Binder, or on a JupyterHub whose config they cannot edit, bring their own endpoint and key. The server
keeps them in memory for this process and, only when asked to remember them, in a file only the user can read.
The server's own settings win when the admin locks them (``CodeInterpreterApp.lock_connection``). The key is
never answered, logged or written anywhere but that file. Plain asyncio, no tornado: the handlers are a thin layer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from .config import DEFAULT_BASE_URL, CodeInterpreter, ConfigError, normalize_base_url
from .redaction import scrub
from .validation import BadRequest, ServiceError, Unavailable, check_text

#: Longest values accepted: far beyond any real endpoint, key or model name, small enough to show in an error.
LIMITS = {"base_url": 2048, "api_key": 4096, "model": 200}
FIELDS = (*LIMITS, "remember")
FILE_VERSION = 1
#: A test of the connection answers quickly: one retry, a short timeout.
PROBE_TIMEOUT = 20.0
LOCKED = (
    "The administrator set the model for this server (CodeInterpreterApp.lock_connection): "
    "it cannot be changed from here."
)
#: Keys seen in this process, scrubbed from what runs show (a run keeps the key it started with).
MAX_SECRETS = 16


class Forbidden(ServiceError):
    status = 403


@dataclass(frozen=True)
class Endpoint:
    """A complete runtime connection: ``base_url`` is empty for OpenAI, ``api_key`` empty when none is needed."""

    base_url: str
    api_key: str
    model: str


class Connection:
    """The settings runs use: the server's, or the ones a user connected at runtime (unless locked)."""

    def __init__(
        self,
        base: CodeInterpreter,
        *,
        path: str | None = None,
        locked: bool = False,
        log: logging.Logger | None = None,
    ) -> None:
        self.base = base
        #: Where a remembered connection is kept; None: nothing is ever written.
        self.path = path
        self.locked = locked
        self.log = log or logging.getLogger(__name__)
        self._runtime: Endpoint | None = None
        self._remembered = False
        self._config = base
        self._secrets: list[str] = []

    @property
    def config(self) -> CodeInterpreter:
        """The settings a run starting now uses (the same object until the connection changes)."""
        return self._config

    def secrets(self) -> list[str]:
        """Every key this process has used: the server's and each connected one."""
        return [k for k in dict.fromkeys([str(self.base.api_key), *self._secrets]) if k]

    def public(self) -> dict[str, Any]:
        """What the sidebar may know: never the key, only whether there is one, and the endpoint's host."""
        config = self._config
        return {
            "source": "runtime" if self._runtime is not None else "server",
            "locked": self.locked,
            "remembered": self._remembered,
            "model": config.model,
            "base_url_host": _host(config),
            "has_api_key": bool(config.api_key),
        }

    # -- changes -------------------------------------------------------------------------------------

    def connect(self, body: Any) -> dict[str, Any]:
        """Use the connection in ``body`` for the runs started from now on; remember it if asked (all or nothing)."""
        if self.locked:
            raise Forbidden(LOCKED)
        if not isinstance(body, dict):
            raise BadRequest('The body must be a JSON object: {"base_url": "...", "api_key": "...", "model": "..."}')
        endpoint = self._endpoint(body)
        remember = body.get("remember")
        if remember is not None and not isinstance(remember, bool):
            raise BadRequest(f"'remember' must be true or false, got {type(remember).__name__}")
        if remember is None:
            remember = self._remembered  # a remembered connection stays remembered when it changes
        if remember:
            self._write(endpoint)
        elif self._remembered or self._file_exists():
            self._delete()
        self._use(endpoint, remembered=bool(remember))
        self.log.info(
            "codeinterp: connected from the sidebar: model %r at %s%s",
            endpoint.model,
            _host(self._config) or "?",
            " (remembered)" if remember else "",
        )
        return self.public()

    def forget(self) -> dict[str, Any]:
        """Back to the server's settings, and the remembered file deleted (allowed when locked: it is the user's)."""
        self._delete()
        if self._runtime is not None:
            self.log.info("codeinterp: the connection set from the sidebar is forgotten")
        self._runtime, self._remembered, self._config = None, False, self.base
        return self.public()

    def load(self) -> None:
        """At server start: use the remembered connection, if there is one and the connection is not locked."""
        if not self._file_exists():
            return
        assert self.path is not None
        if self.locked:
            self.log.info("codeinterp: the remembered connection in %s is ignored: the connection is locked", self.path)
            return
        try:
            mode = os.stat(self.path).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(self.path, 0o600)
                self.log.warning("codeinterp: %s was readable by others; it is now readable only by you", self.path)
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
            if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
                raise BadRequest("not a connection file of this version")
            endpoint = Endpoint(**{k: self._field(data, k) or "" for k in LIMITS})
            self._check(endpoint)
        except (OSError, ValueError, TypeError, BadRequest) as exc:
            # Never the content: it holds the key.
            reason = exc.message if isinstance(exc, BadRequest) else type(exc).__name__
            self.log.warning("codeinterp: the remembered connection in %s is not used: %s", self.path, reason)
            return
        self._use(endpoint, remembered=True)
        self.log.info(
            "codeinterp: using the remembered connection: model %r at %s", endpoint.model, _host(self._config)
        )

    # -- testing ---------------------------------------------------------------------------------------

    def candidate(self, body: Any) -> CodeInterpreter:
        """The settings ``body`` would give (the current ones when it is empty), to test them without using them."""
        if body is None or body == {}:
            return self._config
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object (or empty, to test the current settings)")
        if self.locked:
            raise Forbidden(LOCKED)
        return self._settings(self._endpoint(body, complete=False))

    async def probe(self, config: CodeInterpreter) -> dict[str, Any]:
        """Ask ``config``'s endpoint for its models: ``ok`` and the ids, or the endpoint's error in words."""
        from .llm import describe_error, make_client

        timeout = min(config.request_timeout, PROBE_TIMEOUT)
        config = _with(config, max_retries=min(config.max_retries, 1), request_timeout=timeout)
        result: dict[str, Any] = {"ok": False, "models": [], "model": config.model, "model_listed": None}
        result.update(base_url_host=_host(config), problem=None)
        try:
            client = make_client(config)
        except ConfigError as exc:
            result["problem"] = str(exc)
        else:
            try:
                page = await client.models.list()
                result["models"] = sorted({str(m.id) for m in page.data})
                result.update(ok=True, model_listed=config.model in result["models"])
            except Exception as exc:
                result["problem"] = describe_error(exc, config)
            finally:
                await client.close()
        for secret in [str(config.api_key), *self.secrets()]:
            result = scrub(result, secret)  # an endpoint may echo the key, in an error or as a "model"
        return result

    # -- internals -------------------------------------------------------------------------------------

    def _endpoint(self, body: dict[str, Any], complete: bool = True) -> Endpoint:
        """The endpoint ``body`` names, the current values filling what it leaves out; 400 for anything wrong."""
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise BadRequest(f"Unknown field {unknown[0]!r}: the fields are {', '.join(FIELDS)}")
        current = self._config
        base_url = self._field(body, "base_url")
        base_url = _resolved(base_url) if base_url else str(current.base_url)
        key = self._field(body, "api_key")
        if key is None:
            # Kept for the same endpoint only: a key never goes to another host than the one it was given for.
            same = _resolved(base_url) == _resolved(str(current.base_url))
            key = str(current.api_key) if same else ""
        endpoint = Endpoint(base_url, key, self._field(body, "model") or str(current.model))
        if complete:
            self._check(endpoint)
        return endpoint

    @staticmethod
    def _field(body: dict[str, Any], name: str) -> str | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a string, got {type(value).__name__}")
        if len(value) > LIMITS[name]:
            raise BadRequest(f"'{name}' is too long ({len(value):,} characters; at most {LIMITS[name]:,})")
        value = check_text(value, name, control_chars=False).strip()
        if name == "base_url" and value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                # Not echoed: a key pasted into the wrong field must not come back.
                raise BadRequest("'base_url' must be an http:// or https:// URL with a host")
            if parts.username or parts.password:
                raise BadRequest("'base_url' must not hold a user name or password: give the key as 'api_key'")
        return value

    def _check(self, endpoint: Endpoint) -> None:
        if not endpoint.model:
            raise BadRequest("'model' is required: the name of a chat model of this endpoint")
        if not endpoint.api_key and not endpoint.base_url:
            raise BadRequest(
                "'api_key' is required for OpenAI's own endpoint; give a 'base_url' for a server that needs no key"
            )

    def _settings(self, endpoint: Endpoint) -> CodeInterpreter:
        return _with(self.base, **asdict(endpoint))

    def _use(self, endpoint: Endpoint, *, remembered: bool) -> None:
        self._runtime, self._remembered = endpoint, remembered
        self._config = self._settings(endpoint)
        if endpoint.api_key and endpoint.api_key not in self._secrets:
            self._secrets = [*self._secrets, endpoint.api_key][-MAX_SECRETS:]

    def _file_exists(self) -> bool:
        return self.path is not None and os.path.lexists(self.path)

    def _write(self, endpoint: Endpoint) -> None:
        """Atomically, readable only by the user from its first byte: a 0600 temporary file, renamed over."""
        if self.path is None:
            raise Unavailable("This server cannot remember connections (no connection file); connect without it.")
        folder = os.path.dirname(self.path) or "."
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".connection-", suffix=".tmp", dir=folder)  # O_EXCL, mode 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"version": FILE_VERSION, **asdict(endpoint)}, f)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise Unavailable(
                f"Could not remember the connection in {self.path}: {exc.strerror or exc}. Nothing was changed; "
                "connect without 'remember' to use it until the server stops."
            ) from None

    def _delete(self) -> None:
        if self.path is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise Unavailable(f"Could not delete the remembered connection {self.path}: {exc.strerror}") from None
        else:
            self.log.info("codeinterp: deleted the remembered connection %s", self.path)


def _with(config: CodeInterpreter, **changes: Any) -> CodeInterpreter:
    """A copy of ``config`` with ``changes``: the other settings (loop, timeouts) stay the server's."""
    values = {name: getattr(config, name) for name in config.trait_names(config=True)}
    return CodeInterpreter(**{**values, **changes})


def _resolved(base_url: str) -> str:
    try:
        return normalize_base_url(base_url) if base_url else DEFAULT_BASE_URL
    except ConfigError:
        return base_url


def _host(config: CodeInterpreter) -> str:
    try:
        return urlsplit(config.resolved_base_url).netloc
    except ConfigError:
        return ""
