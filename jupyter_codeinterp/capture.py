"""Capturing what one piece of code produces in this process (stdout, stderr, displays, the last expression,
errors) as the iopub messages a kernel would send, for the ``%%interpret`` magic's in-process executor.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def _msg(kind: str, **content: Any) -> dict[str, Any]:
    """An iopub-shaped message, as ``OutputCollector`` reads them."""
    return {"header": {"msg_type": kind}, "parent_header": {}, "content": content}


class CaptureStream(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr while the model's code runs; buffers writes into stream outputs."""

    def __init__(
        self,
        name: str,
        original: Any,
        send: Callable[[dict[str, Any]], None],
        interval: float,
        shield: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        super().__init__()
        self._shield = shield
        self._name = name
        self._original = original
        self._send = send
        self._interval = interval
        self._buffer: list[str] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return int(self._original.fileno())

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._buffer.append(text)
        if time.monotonic() - self._last_flush >= self._interval:
            self.flush()
        return len(text)

    def flush(self) -> None:
        with self._shield():  # taking the buffer and sending it are one step for an interrupt
            with self._lock:
                text, self._buffer = "".join(self._buffer), []
                self._last_flush = time.monotonic()
            if text:
                self._send(_msg("stream", name=self._name, text=text))


class CapturePublisher:
    """Stands in for the shell's display publisher: ``display()``, ``clear_output()``, display updates."""

    def __init__(self, original: Any, send: Callable[[dict[str, Any]], None], flush: Callable[[], None]) -> None:
        self._original = original
        self._send = send
        self._flush = flush
        self.is_publishing = False

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        self._flush()
        kind = "update_display_data" if update else "display_data"
        self._send(_msg(kind, data=data, metadata=metadata or {}, transient=transient or {}))

    def clear_output(self, wait: bool = False) -> None:
        self._flush()
        self._send(_msg("clear_output", wait=wait))

    def __getattr__(self, name: str) -> Any:  # anything else a library may reach for
        return getattr(self._original, name)


class Capture:
    """Routes everything one piece of code produces to ``send`` instead of the cell's output.

    ``restore`` is idempotent: if an interrupt lands while leaving, the executor calls it again.
    """

    def __init__(
        self,
        shell: Any,
        code: str,
        send: Callable[[dict[str, Any]], None],
        interval: float,
        shield: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        self.shell = shell
        self.code = code
        self.send = send
        self.out = CaptureStream("stdout", sys.stdout, send, interval, shield)
        self.err = CaptureStream("stderr", sys.stderr, send, interval, shield)
        self._saved: tuple[Any, ...] | None = None
        self._own_showtraceback: Any = None

    def flush(self) -> None:
        self.out.flush()
        self.err.flush()

    def displayhook(self, value: Any) -> None:
        from IPython.core.displayhook import DisplayHook

        if value is None or DisplayHook.semicolon_at_end_of_expression(self.code):
            return
        data, metadata = self.shell.display_formatter.format(value)
        self.flush()
        self.send(_msg("execute_result", data=data, metadata=metadata, execution_count=None))

    def showtraceback(self, etype: type[BaseException], evalue: BaseException, stb: list[str]) -> None:
        self.flush()
        self.send(_msg("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb)))

    def __enter__(self) -> Capture:
        shell, trap = self.shell, self.shell.display_trap
        self._saved = (sys.stdout, sys.stderr, sys.displayhook, shell.display_pub, trap.hook)
        self._own_showtraceback = vars(shell).get("_showtraceback")
        sys.stdout, sys.stderr, sys.displayhook = self.out, self.err, self.displayhook
        trap.hook = self.displayhook  # in case the shell (re)installs its hook for the nested run
        shell.display_pub = CapturePublisher(self._saved[3], self.send, self.flush)
        shell._showtraceback = self.showtraceback
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def restore(self) -> None:
        if self._saved is None:
            return
        shell = self.shell
        sys.stdout, sys.stderr, sys.displayhook, shell.display_pub, shell.display_trap.hook = self._saved
        if self._own_showtraceback is not None:
            shell._showtraceback = self._own_showtraceback
        else:
            vars(shell).pop("_showtraceback", None)
        self._saved = None
