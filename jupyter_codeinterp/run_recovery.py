"""What the run service does when the store fails it or a previous process died: nothing is lost, only delayed.

Runs a crashed server left in flight are recorded as failed at start (or, if the store cannot be written then,
before the next run); the end of a run the store could not take is kept in memory and written when it can be.
A mixin of ``RunService``.
"""

from __future__ import annotations

import asyncio
import logging

from .liverun import LiveRun
from .store import Store
from .store_errors import StoreFailure

RESTART_REASON = "The server restarted while this run was in progress."
#: Seconds between attempts to record what a failing store could not take (the ends of runs, the recovery).
CATCH_UP_INTERVAL = 2.0


class StoreCatchUp:
    store: Store
    log: logging.Logger
    _live: dict[str, LiveRun]
    _recovered: bool
    _stopping: bool
    _catching_up: asyncio.Task[None] | None

    def recover(self) -> list[str]:
        """Runs a previous server process left in flight cannot go on: record them as failed.

        If the store cannot be written now, this is done before the next run starts (which waits for it).
        """
        try:
            return self._recover()
        except StoreFailure as failure:
            self.log.warning("codeinterp: interrupted runs are not recovered yet: %s", failure.message)
            return []

    def _recover(self) -> list[str]:
        failed = self.store.fail_interrupted_runs(RESTART_REASON, keep=self._live)
        self._recovered = True
        if failed:
            self.log.warning("codeinterp: marked %d interrupted run(s) as failed: %s", len(failed), failed)
        return failed

    def _catch_up(self) -> None:
        """Write what the store could not take before, oldest first: the recovery, then the ends of runs the store
        failed (with their events not stored yet). Raises ``StoreFailure`` while it still cannot."""
        if not self._recovered:
            self._recover()
        for run in [r for r in self._live.values() if r.record is not None]:
            assert run.record is not None
            self.store.finish_run(
                run.run_id, **run.record, events=run.events[run.stored_seq :], messages=run.unstored_messages
            )
            run.unstored_messages = []
            self.log.info("codeinterp: the end of run %s is recorded now", run.run_id)
            run.record = None
            run.stored_seq = run.last_seq
            self._live.pop(run.run_id, None)

    def _behind(self) -> bool:
        return not self._recovered or any(r.record is not None for r in self._live.values())

    def _keep_catching_up(self) -> None:
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.ensure_future(self._catch_up_loop())

    async def _catch_up_loop(self) -> None:
        while self._behind() and not self._stopping:
            await asyncio.sleep(CATCH_UP_INTERVAL)
            try:
                self._catch_up()
            except StoreFailure:
                continue
