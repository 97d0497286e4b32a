"""What the model is told of a data file: a compact profile computed in the kernel (with its pandas, or a plain-text
fallback without), for each supported type; and the folder snapshots that tell which files a step wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.filetrack import diff, kernel_expression

SAMPLES = Path(__file__).parent / "fixtures" / "files"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000030806000000b5cbf1a40000000d49444154789c63f8ffff3f030005fe02fe"
    "a7d6a3b40000000049454e44ae426082"
)
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n4 0 obj << /Type /Page /Parent 2 0 R >> endobj\ntrailer\n%%EOF"
)


def samples(folder: Path) -> list[str]:
    """One file of each supported type in ``folder``; their names."""
    shutil.copy(SAMPLES / "messy.xlsx", folder / "messy.xlsx")
    shutil.copy(SAMPLES / "latin1.csv", folder / "latin1.csv")
    (folder / "sales.tsv").write_text("month\tunits\n2026-01\t10\n2026-02\t12\n")
    (folder / "items.json").write_text(json.dumps([{"id": 1, "name": "a"}, {"id": 2, "name": "b", "tag": "x"}]))
    (folder / "events.jsonl").write_text('{"t": 1, "kind": "click"}\n{"t": 2, "kind": "view"}\n')
    (folder / "notes.md").write_text("# Notes\n\nThe data came from the export of March.\n")
    (folder / "readme.txt").write_text("line one\nline two\n")
    (folder / "report.pdf").write_bytes(MINIMAL_PDF)
    (folder / "dot.png").write_bytes(PNG)
    with zipfile.ZipFile(folder / "bundle.zip", "w") as z:
        z.writestr("a.csv", "x\n1\n")
        z.writestr("b/c.txt", "hi")
    names = ["messy.xlsx", "latin1.csv", "sales.tsv", "items.json", "events.jsonl", "notes.md", "readme.txt"]
    names += ["report.pdf", "dot.png", "bundle.zip"]
    pytest.importorskip("pyarrow")
    import pandas as pd

    pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).to_parquet(folder / "table.parquet")
    return [*names, "table.parquet"]


async def in_kernel(kernel: Any, call: str) -> Any:
    executor = KernelExecutor(kernel)
    try:
        return json.loads(await executor.evaluate(kernel_expression(call)))
    finally:
        executor.close()


async def test_each_supported_type_gets_a_compact_profile_computed_in_the_kernel(kernel: Any, workdir: Path) -> None:
    names = samples(workdir)
    profiles = await in_kernel(kernel, f"profile({names!r}, 1500)")

    assert set(profiles) == set(names)
    assert all(len(text) <= 1500 for text in profiles.values())
    xlsx = profiles["messy.xlsx"]
    assert "sheet 'Sales': 6 rows x 4 columns" in xlsx and "sheet 'Raw export'" in xlsx and "revenue" in xlsx
    assert "encoding latin-1" in profiles["latin1.csv"] and "José" in profiles["latin1.csv"]
    assert "~3 rows x 3 columns" in profiles["latin1.csv"] and "amount (float64)" in profiles["latin1.csv"]
    assert "units (int64)" in profiles["sales.tsv"]
    assert "a list of 2 items; keys: id, name, tag" in profiles["items.json"]
    assert "~2 records" in profiles["events.jsonl"] and "kind (" in profiles["events.jsonl"]
    assert "# Notes" in profiles["notes.md"] and "line two" in profiles["readme.txt"]
    assert "PDF" in profiles["report.pdf"] and "2 page(s)" in profiles["report.pdf"]
    assert "image (image/png)" in profiles["dot.png"] and "2x3" in profiles["dot.png"]
    assert "2 entries: a.csv, b/c.txt" in profiles["bundle.zip"]
    assert "3 rows; schema: a (int64), b (" in profiles["table.parquet"]


async def test_profiling_leaves_nothing_in_the_users_namespace(kernel: Any, workdir: Path) -> None:
    (workdir / "t.csv").write_text("a\n1\n")
    await in_kernel(kernel, "profile(['t.csv'], 500)")
    names = await KernelExecutor(kernel).evaluate("sorted(k for k in globals() if not k.startswith('_'))")
    assert not {"profile", "scan", "json", "os"} & set(names)


async def test_a_file_that_cannot_be_read_says_so_and_the_others_are_profiled(kernel: Any, workdir: Path) -> None:
    (workdir / "broken.xlsx").write_bytes(b"not a workbook")
    (workdir / "fine.csv").write_text("a,b\n1,2\n")
    profiles = await in_kernel(kernel, "profile(['broken.xlsx', 'fine.csv', 'gone.csv'], 500)")
    assert "could not be read" in profiles["broken.xlsx"] and "could not be read" in profiles["gone.csv"]
    assert "a (int64)" in profiles["fine.csv"]


def test_without_pandas_tables_are_profiled_as_plain_text(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "latin1.csv", tmp_path / "latin1.csv")
    probe = (
        "import sys; sys.modules['pandas'] = None\n"
        "from jupyter_codeinterp import inkernel_files as f\n"
        "print(f.profile(['latin1.csv', 'messy.xlsx'], 800))"
    )
    shutil.copy(SAMPLES / "messy.xlsx", tmp_path / "messy.xlsx")
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    profiles = json.loads(out.stdout)
    assert "pandas is not installed" in profiles["latin1.csv"] and "name, city, amount" in profiles["latin1.csv"]
    assert "José, Málaga, 12.5" in profiles["latin1.csv"]
    assert "2 sheet(s)" in profiles["messy.xlsx"]


async def test_a_snapshot_skips_noise_and_is_bounded(kernel: Any, workdir: Path) -> None:
    for name in ("a.csv", ".hidden", "__pycache__/x.pyc", ".ipynb_checkpoints/a-checkpoint.csv", "sub/b.txt"):
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text("x")
    snap = await in_kernel(kernel, "scan(100)")
    assert sorted(snap["files"]) == ["a.csv", "sub/b.txt"] and snap["truncated"] is False
    assert snap["root"] == str(workdir)
    small = await in_kernel(kernel, "scan(1)")
    assert len(small["files"]) == 1 and small["truncated"] is True


def test_the_diff_of_two_snapshots_is_what_was_created_or_changed() -> None:
    before = {"a.csv": [1, 10], "b.csv": [2, 20], "nb.ipynb": [3, 30]}
    after = {"a.csv": [1, 10], "b.csv": [5, 21], "c.png": [9, 40], "nb.ipynb": [4, 31]}
    assert diff(before, after) == [
        {"path": "b.csv", "size": 5, "change": "modified"},
        {"path": "c.png", "size": 9, "change": "created"},
    ], "a notebook saved by its editor meanwhile is not the step's doing"


async def test_an_expression_that_fails_in_the_kernel_raises_at_once(kernel: Any) -> None:
    executor = KernelExecutor(kernel)
    try:
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            await executor.evaluate("1 / 0", timeout=5)
        assert await executor.evaluate("6 * 7") == 42
    finally:
        executor.close()
