"""Do outputs travel and stay once? Bytes over the websocket and in the store for a run printing N MB.

Run: ``python bench/output_bytes.py [--mb 5]`` (``--no-write``: print only). One real ``jupyter server``, one
kernel, the scripted model: a run whose one step prints ``--mb`` MB (lines of 100 bytes), then answers. Measured:
the bytes of every websocket message a live client received, the same for a client replaying the run from the start
after it ended (the two must fold to the same outputs), and how much the SQLite store grew: its file after a
checkpoint (the WAL folded in), and the bytes of each table's values.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench.report import as_users_run, write_section
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import TEST_KEY
from tests.test_server_restart import TOKEN, ServerProcess

TITLE = "Outputs: bytes sent and stored per byte printed"
LINE = 100  # bytes per printed line, its newline included
#: (table, the column that holds what the run said) for the per-table sizes.
TABLES = (("events", "event"), ("steps", "outputs"), ("messages", "message"))


def _printing(mb: float) -> tuple[str, int]:
    lines = int(mb * 1024 * 1024) // LINE
    return f"line = 'x' * {LINE - 1}\nfor _ in range({lines}):\n    print(line)", lines * LINE


def _receive(server: ServerProcess, run_id: str, out: dict[str, Any]) -> None:
    """Follow the run's websocket from the start, counting the bytes of each message."""
    import websocket

    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/codeinterp/runs/{run_id}/events?after=0",
        header=[f"Authorization: token {TOKEN}"],
        timeout=120,
    )
    events: list[dict[str, Any]] = []
    size = 0
    try:
        while message := ws.recv():
            size += len(message.encode() if isinstance(message, str) else message)
            events.append(json.loads(message))
    except websocket.WebSocketConnectionClosedException:
        pass
    finally:
        ws.close()
    out.update(bytes=size, events=events)


def _store_bytes(path: Path) -> dict[str, int]:
    """The store file's size with its WAL checkpointed into it, and the bytes of each table's values."""
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sizes = {"file": os.path.getsize(path)}
        for table, column in TABLES:
            (n,) = db.execute(f"SELECT COALESCE(SUM(LENGTH(CAST({column} AS BLOB))), 0) FROM {table}").fetchone()
            sizes[table] = int(n)
    finally:
        db.close()
    return sizes


def _folded_outputs(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    from jupyter_codeinterp.runstate import RunState

    return [s["outputs"] for s in RunState.of(events).step_records()]


def measure(mb: float) -> dict[str, Any]:
    as_users_run()
    source, printed = _printing(mb)
    home = Path(tempfile.mkdtemp(prefix="codeinterp-outputs-"))
    with ScriptedLLM(api_key=TEST_KEY) as llm:
        server = ServerProcess(home, llm)
        try:
            kernel = server.ok("POST", "/api/kernels", {"name": "python3"})["id"]
            llm.script(code("print('warm')"), answer("warm"))  # the store's tables and the kernel, not counted
            warm = server.start_run(kernel, "warm up", thread_id="new")
            server.events(warm["run_id"])
            store = home / "store.sqlite"
            before = _store_bytes(store)
            llm.script(code(source, chunk=4096), answer("printed"))
            started = server.start_run(kernel, "print a lot", thread_id="new")
            live: dict[str, Any] = {}
            follower = threading.Thread(target=_receive, args=(server, started["run_id"], live))
            begun = time.perf_counter()
            follower.start()
            follower.join()
            seconds = time.perf_counter() - begun
            run = server.ok("GET", f"/codeinterp/runs/{started['run_id']}")
            replay: dict[str, Any] = {}
            _receive(server, started["run_id"], replay)
            after = _store_bytes(store)
        finally:
            server.kill()
    outputs = _folded_outputs(live["events"])
    assert run["status"] == "completed", run
    exact = outputs == _folded_outputs(replay["events"]) == [s["outputs"] for s in run["steps"]]
    text = "".join(o.get("text", "") for o in outputs[0])
    return {
        "mb": mb,
        "printed": printed,
        "printed_ok": len(text) == printed,
        "ws": live["bytes"],
        "replay_ws": replay["bytes"],
        "events": len(live["events"]),
        "exact": exact,
        "store": after["file"] - before["file"],
        "tables": {t: after[t] - before[t] for t, _ in TABLES},
        "seconds": seconds,
    }


def render(r: dict[str, Any]) -> str:
    p = r["printed"]
    rows = [
        ("printed by the step", p),
        (f"websocket, live client ({r['events']} messages)", r["ws"]),
        ("websocket, a client replaying from the start after the end", r["replay_ws"]),
        ("store file growth (WAL checkpointed)", r["store"]),
        *((f"… of which `{t}` values", n) for t, n in r["tables"].items()),
    ]
    body = "\n".join(f"| {name} | {n / 1e6:.2f} | {n / p:.2f}x |" for name, n in rows)
    return (
        f"`python bench/output_bytes.py --mb {r['mb']:g}`: one real `jupyter server`, one kernel, the scripted model; "
        f"a run whose one step prints {r['mb']:g} MB in lines of {LINE} bytes, then answers; "
        f"{time.strftime('%Y-%m-%d')}. The run took {r['seconds']:.1f} s; live and replayed outputs "
        f"{'fold to the same' if r['exact'] else '**differ**'}, and to what `GET` gives.\n\n"
        f"| bytes | MB | per byte printed |\n|---|---:|---:|\n{body}\n"
    )


def summary(r: dict[str, Any]) -> list[tuple[str, float, float | None, str, bool]]:
    """For ``python -m bench``: (figure, ours, baseline, target, met)."""
    p = r["printed"] / 1e6
    ws, store = r["ws"] / 1e6, r["store"] / 1e6
    return [
        (f"websocket bytes for a run printing {r['mb']:g} MB (MB)", ws, p, "≤ 1.3x printed", ws <= 1.3 * p),
        (f"store growth for a run printing {r['mb']:g} MB (MB)", store, p, "≤ 1.3x printed", store <= 1.3 * p),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(measure(args.mb))
    print(table)
    if not args.no_write:
        write_section(TITLE, table)
