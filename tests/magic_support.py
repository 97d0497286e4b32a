"""A real IPython shell with ``%%interpret`` loaded, pointed at the scripted model, and a recording frontend."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from IPython.core.displaypub import DisplayPublisher

from jupyter_codeinterp.transcript import RUN_MIME_TYPE


class RecordingFrontend(DisplayPublisher):
    """Stands in for a notebook frontend: keeps every display and display update, as a client would see them."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell=shell)
        self.messages: list[dict[str, Any]] = []

    def publish(  # type: ignore[override]
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **kwargs: Any,
    ) -> None:
        self.messages.append({"data": data, "transient": transient or {}, "update": update})

    def clear_output(self, wait: bool = False) -> None:
        self.messages.append({"clear_output": wait})

    def run_bundles(self) -> list[dict[str, Any]]:
        """Every display and update of a run's display, in order."""
        return [m["data"] for m in self.messages if RUN_MIME_TYPE in m.get("data", {})]

    def final(self) -> dict[str, Any]:
        """What the output area shows at the end: the last version of the (one) run display."""
        return self.run_bundles()[-1]


def final_events(frontend: RecordingFrontend) -> list[dict[str, Any]]:
    return list(frontend.final()[RUN_MIME_TYPE]["events"])


def interrupt_main_after(seconds: float) -> threading.Thread:
    """Do what "interrupt kernel" does to ipykernel: a SIGINT to the main thread, here after ``seconds``."""
    main = threading.main_thread().ident
    assert main is not None

    def fire() -> None:
        time.sleep(seconds)
        signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread
