"""What the run service answers about runs and threads: live ones from memory, ended ones from the store.

A mixin of ``RunService`` (it reads the service's store and live runs, and changes nothing).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from .events import ACTIVE_STATUSES, FINAL_STATUSES
from .liverun import LiveRun
from .store import Store
from .validation import NotFound, normalize_notebook_path


class RunReads:
    store: Store
    _live: dict[str, LiveRun]
    _by_kernel: dict[str, str]

    def recent_runs(
        self, notebook_path: str | None = None, kernel_id: str | None = None, since: float | None = None
    ) -> dict[str, Any]:
        """The runs in progress, and with ``since`` also those created since then (ended or not), as summaries,
        oldest first, with the server's ``now`` to pass back as the next ``since``: a client that polls this way
        sees every run it did not start, however short."""
        now = time.time()
        path = normalize_notebook_path(notebook_path) if notebook_path is not None else None
        found: dict[str, dict[str, Any]] = {}
        if since is not None:
            for row in self.store.runs_created_since(since, path, kernel_id):
                found[row["run_id"]] = self._summary(row)
        for r in self._live.values():
            if (
                r.status in ACTIVE_STATUSES
                and (path is None or r.notebook_path == path)
                and (kernel_id is None or r.kernel_id == kernel_id)
            ):
                found[r.run_id] = self._summary(r.as_dict())
        return {"runs": sorted(found.values(), key=lambda r: r["created"]), "now": now}

    def active_runs(self) -> list[dict[str, str]]:
        return [
            {"run_id": r.run_id, "kernel_id": r.kernel_id, "status": r.status}
            for r in self._live.values()
            if not r.ended
        ]

    def get_run(self, run_id: str) -> dict[str, Any]:
        live = self._live.get(run_id)
        if live is not None:
            return live.as_dict()
        run = self.store.get_run(run_id)
        if run is None:
            raise NotFound(f"No run with id {run_id!r}.")
        return run

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        """Every event of the run so far (a live run's from memory, an ended one's from the store)."""
        live = self._live.get(run_id)
        if live is not None:
            return list(live.events)
        if self.store.get_run(run_id) is None:
            raise NotFound(f"No run with id {run_id!r}.")
        return list(self.store.events(run_id, 0))

    def kernel_busy(self, kernel_id: str) -> bool:
        """Whether a run is active on the kernel now."""
        return kernel_id in self._by_kernel

    def check_run(self, run_id: str) -> None:
        if run_id not in self._live and self.store.get_run(run_id) is None:
            raise NotFound(f"No run with id {run_id!r}.")

    async def follow(self, run_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        """Every event with ``seq > after``, then live ones until the run ends: no gap, no duplicate.

        A live run's whole log is in memory, so replay and live delivery read the same list through one
        cursor; an ended run's log is read from the store. Each follower advances at its own pace and the run
        never waits for it.
        """
        run = self._live.get(run_id)
        if run is None:
            stored = self.store.get_run(run_id)
            if stored is None:
                raise NotFound(f"No run with id {run_id!r}.")
            if stored["status"] in FINAL_STATUSES:
                for event in self.store.events(run_id, after):
                    yield event
                return
            run = self._live.get(run_id)  # started meanwhile? (cannot happen without an await; be safe)
            if run is None:
                return
        cursor = after
        while True:
            if cursor < run.last_seq:
                batch = run.events[cursor:]
                for event in batch:
                    yield event
                cursor += len(batch)
                continue
            if run.ended:
                return
            await run.wait_beyond(cursor)

    # -- threads ---------------------------------------------------------------------------------------

    def list_threads(self, notebook_path: str | None) -> list[dict[str, Any]]:
        path = normalize_notebook_path(notebook_path) if notebook_path is not None else None
        threads = self.store.list_threads(path)
        for thread in threads:
            thread["runs"] = [self._summary(r) for r in self.store.runs_of_thread(thread["thread_id"])]
            thread["usage"] = self.store.thread_usage(thread["thread_id"])
        return threads

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        thread = self.store.get_thread(thread_id)
        if thread is None:
            raise NotFound(f"No thread with id {thread_id!r}.")
        runs = self.store.runs_of_thread(thread_id, with_steps=True)
        thread["runs"] = [self.get_run(r["run_id"]) if r["run_id"] in self._live else r for r in runs]
        thread["messages"] = self.store.thread_messages(thread_id)
        thread["usage"] = self.store.thread_usage(thread_id)
        return thread

    def _summary(self, run: dict[str, Any]) -> dict[str, Any]:
        """A run as ``get_run`` gives it, without its steps (a listing stays small)."""
        live = self._live.get(run["run_id"])
        if live is not None:
            run = live.as_dict()
        return {k: v for k, v in run.items() if k != "steps"}
