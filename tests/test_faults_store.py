"""The store's disk fills up or the store is read-only: a clear error naming the cause and the path, a run that can no
longer be written ends ``failed`` saying why (its followers see the end), and everything is intact once it is back.

The disk is real: the store lives on a small tmpfs of its own (mounting one needs root, as scripts/test.sh runs
here), filled with a file until the kernel answers ENOSPC, so SQLite hits the same "database or disk is full" a
full disk gives. Read-only is a read-only bind mount of the store's folder (as root), or permissions otherwise.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_codeinterp.runs import STORE_FAILED_REASON
from jupyter_codeinterp.store import Store
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import *  # noqa: F403
from tests.server_support import Api, read_events, read_until, server_config


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


class SmallDisk:
    """A 2 MB tmpfs holding the store, filled for real with a file and freed by deleting it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.filler = folder / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as f:
            for size in (1 << 16, 1):  # big pieces, then bytes: not one free block left
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc

    def free(self) -> None:
        self.filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)):
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN), as scripts/test.sh has")
    yield SmallDisk(folder)
    _unmount(folder)


@pytest.fixture
def store_path(small_disk: SmallDisk) -> Path:  # the server's store, on the small disk
    return small_disk.folder / "state" / "codeinterp.sqlite"


def _stored(path: Path) -> sqlite3.Connection:
    """The store file as a fresh process would find it."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return db


def _assert_full(status: int, body: Any, store_path: Path) -> None:
    assert status == 507, body
    assert body["cause"] == "disk_full" and body["path"] == str(store_path), body
    assert "full" in body["message"] and str(store_path) in body["message"]


async def test_a_full_disk_at_run_start_is_507_naming_the_cause_and_the_path_and_nothing_is_half_made(
    api: Api, llm: ScriptedLLM, kernel_id: str, small_disk: SmallDisk, store_path: Path
) -> None:
    llm.script(answer("Before."))
    first = await api.wait((await api.start(kernel_id, "first", notebook_path="a.ipynb"))["run_id"])

    small_disk.fill()
    for extra in ({"notebook_path": "a.ipynb"}, {"thread_id": "new"}, {"notebook_path": "b.ipynb"}):
        status, body = await api.post("codeinterp", "runs", body={"kernel_id": kernel_id, "prompt": "no", **extra})
        _assert_full(status, body, store_path)
    # Reading still works, and the refused runs left no thread or run behind.
    status, listing = await api.get("codeinterp", "threads")
    assert status == 200 and [[r["run_id"] for r in t["runs"]] for t in listing["threads"]] == [[first["run_id"]]]
    assert (await api.run(first["run_id"]))["answer"] == "Before."

    small_disk.free()
    llm.script(answer("After."))
    run = await api.wait((await api.start(kernel_id, "third", notebook_path="a.ipynb"))["run_id"])
    assert run["status"] == "completed" and run["thread_id"] == first["thread_id"]
    _, thread = await api.get("codeinterp", "threads", first["thread_id"])
    assert [m["content"] for m in thread["messages"] if m["role"] != "system"] == [
        "first",
        "Before.",
        "third",
        "After.",
    ]


def wait_for(flag: Path) -> str:
    """Code that prints, waits for ``flag`` to exist, then prints again."""
    return (
        f"import os, time\nprint('waiting', flush=True)\nwhile not os.path.exists({str(flag)!r}):\n"
        "    time.sleep(0.02)\nprint('after the disk filled', flush=True)"
    )


def _waiting(event: dict[str, Any]) -> bool:
    return event.get("stage") == "in_progress" and "waiting" in json.dumps(event.get("output") or {})


async def test_a_disk_full_mid_run_ends_it_failed_and_everything_is_written_once_space_is_back(
    api: Api, llm: ScriptedLLM, kernel_id: str, small_disk: SmallDisk, store_path: Path, tmp_path: Path
) -> None:
    llm.script(code("print('one')"), code(wait_for(tmp_path / "go.flag")))
    started = await api.start(kernel_id, "fill it", notebook_path="a.ipynb")
    run_id = started["run_id"]
    ws = await api.events(run_id)
    seen = await read_until(ws, _waiting)

    small_disk.fill()
    (tmp_path / "go.flag").touch()  # the kernel prints again: that event cannot be written
    seen += await read_events(ws)  # the follower sees the end, then the server closes the stream

    ended = seen[-1]
    assert ended["type"] == "run_ended" and ended["status"] == "failed", ended
    assert ended["reason"].startswith(STORE_FAILED_REASON) and str(store_path) in ended["reason"]
    assert "full" in ended["reason"]
    run = await api.run(run_id)
    assert (run["status"], run["reason"]) == ("failed", ended["reason"]) and len(llm.requests) == 2  # stopped
    assert run["steps"][0]["status"] == "ok" and run["steps"][0]["outputs"][0]["text"] == "one\n"
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    stored = [json.loads(r["event"]) for r in _stored(store_path).execute("SELECT event FROM events ORDER BY seq")]
    assert stored == seen[: len(stored)] and len(stored) < len(seen)  # what was written before stays as it was

    # Space is back: the run's end and its last events are written before the next run starts.
    small_disk.free()
    llm.script(answer("Back."))
    assert (await api.wait((await api.start(kernel_id, "again", thread_id=started["thread_id"]))["run_id"]))[
        "answer"
    ] == "Back."
    db = _stored(store_path)
    stored = [json.loads(r["event"]) for r in db.execute("SELECT event FROM events WHERE run_id = ?", (run_id,))]
    assert stored == seen  # nothing lost, nothing twice
    row = db.execute("SELECT status, reason, last_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    assert tuple(row) == ("failed", ended["reason"], len(seen))
    steps = db.execute("SELECT step, outputs_in_events FROM steps WHERE run_id = ? ORDER BY step", (run_id,)).fetchall()
    assert [tuple(s) for s in steps] == [(1, 1), (2, 1)], "each step's outputs kept once, in its events"
    assert "waiting" in json.dumps((await api.run(run_id))["steps"][1]["outputs"])  # folded back from them
    assert await api.all_events(run_id) == seen  # replayed from the store now, the same
    _, thread = await api.get("codeinterp", "threads", started["thread_id"])
    assert [m["content"] for m in thread["messages"] if m["role"] == "user"] == ["fill it", "again"]


# -- a read-only store ----------------------------------------------------------------------------------


class ReadOnly:
    """The store's folder made read-only: a read-only bind mount as root, permissions otherwise."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.mounted = os.geteuid() == 0 and _mount("--bind", str(folder), str(folder))
        if self.mounted:
            assert _mount("-o", "remount,ro,bind", str(folder), str(folder))
        else:
            for item in folder.iterdir():
                item.chmod(0o444)
            folder.chmod(0o555)

    def restore(self) -> None:
        if self.mounted:
            assert _mount("-o", "remount,rw,bind", str(self.folder), str(self.folder))
        else:
            self.folder.chmod(0o755)
            for item in self.folder.iterdir():
                item.chmod(0o644)

    def undo(self) -> None:
        if self.mounted:
            _unmount(self.folder)
        else:
            self.restore()


@pytest.fixture
def history_path(tmp_path: Path) -> Path:
    return tmp_path / "ro" / "codeinterp.sqlite"


@pytest.fixture
def read_only_store(history_path: Path) -> Iterator[ReadOnly]:
    """A store with one finished run in it (from an earlier session), made read-only before the server starts."""
    store = Store(str(history_path))
    store.create_run("r-old", "t-old", "k-old", "a.ipynb", "earlier", "m", 1.0, new_thread_title="earlier")
    messages = [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "Earlier answer."}]
    store.finish_run(
        "r-old", status="completed", reason="", answer="Earlier answer.", usage={}, steps=[], messages=messages
    )
    store.close()
    read_only = ReadOnly(history_path.parent)
    yield read_only
    read_only.undo()


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, history_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if "read_only_store" in request.fixturenames:
        request.getfixturevalue("read_only_store")  # before the server starts
        return server_config(llm, history_path)
    return server_config(llm, request.getfixturevalue("store_path"))


async def test_a_read_only_store_is_503_naming_the_cause_and_the_path_and_works_once_writable(
    api: Api, llm: ScriptedLLM, kernel_id: str, read_only_store: ReadOnly, history_path: Path
) -> None:
    post = {"kernel_id": kernel_id, "prompt": "hi", "notebook_path": "a.ipynb"}
    for method, route, extra in (
        ("GET", ("codeinterp", "threads"), {}),
        ("GET", ("codeinterp", "threads", "t-old"), {}),
        ("GET", ("codeinterp", "runs", "r-old"), {}),
        ("GET", ("codeinterp", "runs"), {"params": {"since": "0"}}),
        ("POST", ("codeinterp", "runs", "r-old", "cancel"), {}),
        ("POST", ("codeinterp", "runs"), {"body": post}),
    ):
        status, reply = await api.call(method, *route, **extra)
        assert status == 503, (route, reply)
        assert reply["cause"] == "read_only" and reply["path"] == str(history_path), reply
        assert "read-only" in reply["message"] and "db_path" in reply["message"]
    assert (await api.get("codeinterp", "runs"))[0] == 200  # the runs in progress (none) need no store
    with pytest.raises(HTTPClientError) as refused:
        await api.events("r-old")
    assert refused.value.code == 503
    _, config = await api.get("codeinterp", "config")
    assert "read-only" in config["store_problem"] and config["problem"] is None
    status, reply = await api.get("codeinterp", "v1", "files")  # the OpenAI-compatible API's data is beside it
    assert status == 503 and reply["error"]["code"] == "store_unavailable", reply
    assert "openai_data_dir" in reply["error"]["message"]

    read_only_store.restore()
    assert (await api.get("codeinterp", "v1", "files"))[0] == 200  # opened at the first use once writable
    _, config = await api.get("codeinterp", "config")
    assert config["store_problem"] is None
    assert (await api.run("r-old"))["answer"] == "Earlier answer."
    llm.script(answer("Now."))
    run = await api.wait((await api.start(kernel_id, "and now?", notebook_path="a.ipynb"))["run_id"])
    assert run["status"] == "completed" and run["thread_id"] == "t-old"
    earlier, said, asked = (m["content"] for m in llm.requests[-1]["messages"][-3:])
    assert (earlier, said) == ("earlier", "Earlier answer.") and asked.endswith("and now?")
