"""Code that runs inside the kernel: a bounded snapshot of its working folder, and compact profiles of data files.

Its source is sent to the kernel as it is (``filetrack.kernel_expression``), so it imports only the standard
library at the top and uses pandas (and pyarrow, Pillow, pypdf) only if the kernel has them. Run in the kernel, it
sees the kernel's disk: a remote kernel's folder, or the sandbox's view of it. Every function returns JSON text.
"""

from __future__ import annotations

import csv
import json
import mimetypes
import os
import zipfile
from typing import Any

NOISE_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", "node_modules", ".venv", "venv", ".mypy_cache"}
DATA_TYPES = {".csv", ".tsv", ".xlsx", ".xls", ".json", ".jsonl", ".parquet", ".txt", ".md", ".pdf", ".zip"}
IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg"}
HEAD_ROWS = 5


def scan(limit: int) -> str:
    """``{"root", "files": {relpath: [size, mtime_ns]}, "truncated"}``: at most ``limit`` files, hidden files and
    the usual noise folders left out, in a stable order (so a cut-short scan cuts the same way each time)."""
    root = os.getcwd()
    files: dict[str, list[int]] = {}
    truncated = False
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in NOISE_DIRS)
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            if len(files) >= limit:
                truncated = True
                break
            files[os.path.relpath(path, root)] = [info.st_size, info.st_mtime_ns]
        if truncated:
            break
    return json.dumps({"root": root, "files": files, "truncated": truncated})


def profile(paths: list[str], cap: int) -> str:
    """``{relpath: text}``: each file's profile, each at most ``cap`` characters."""
    out: dict[str, str] = {}
    for path in paths:
        try:
            text = _profile_one(path)
        except Exception as exc:  # a file that cannot be read says so; the others are still profiled
            text = f"{_kind(path)}; could not be read: {type(exc).__name__}: {exc}"
        out[path] = text if len(text) <= cap else text[: cap - 20] + "\n[... profile cut ...]"
    return json.dumps(out)


def _size(path: str) -> str:
    n = float(os.path.getsize(path))
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _kind(path: str) -> str:
    return mimetypes.guess_type(path)[0] or (os.path.splitext(path)[1].lstrip(".").upper() or "file")


def _profile_one(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    head = f"{_size(path)}"
    if ext in (".csv", ".tsv"):
        return f"{ext[1:].upper()}, {head}\n" + _table(path, "\t" if ext == ".tsv" else ",")
    if ext in (".xlsx", ".xls"):
        return f"Excel workbook, {head}\n" + _workbook(path)
    if ext in (".json", ".jsonl"):
        return f"{ext[1:].upper()}, {head}\n" + _json(path, ext == ".jsonl")
    if ext == ".parquet":
        return f"Parquet, {head}\n" + _parquet(path)
    if ext in (".txt", ".md"):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read(200_000).splitlines()
        return f"text, {head}, {len(lines)}+ lines; first lines:\n" + "\n".join(lines[:8])
    if ext == ".pdf":
        return f"PDF, {head}, {_pdf_pages(path)} page(s)"
    if ext in IMAGE_TYPES:
        return f"image ({_kind(path)}), {head}{_image_size(path)}"
    if ext == ".zip":
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        return f"ZIP, {head}, {len(names)} entries: " + ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
    return f"{_kind(path)}, {head}"


def _pandas() -> Any:
    try:
        import pandas

        return pandas
    except Exception:
        return None


def _encoding(path: str) -> str:
    with open(path, "rb") as f:
        sample = f.read(65536)
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a character cut by the sample's end
            return "utf-8"
        return "latin-1"


def _count_lines(path: str) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _frame(df: Any) -> str:
    dtypes = ", ".join(f"{c} ({t})" for c, t in df.dtypes.astype(str).items())
    return f"columns: {dtypes}\nfirst rows:\n{df.head(HEAD_ROWS).to_string(max_colwidth=40)}"


def _table(path: str, sep: str) -> str:
    encoding = _encoding(path)
    rows = max(0, _count_lines(path) - 1)
    note = f"encoding {encoding}, " if encoding != "utf-8" else ""
    pd = _pandas()
    if pd is not None:
        df = pd.read_csv(path, sep=sep, nrows=1000, encoding=encoding)
        return f"{note}~{rows} rows x {df.shape[1]} columns\n{_frame(df)}"
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=sep)
        header = next(reader, [])
        first = [r for _, r in zip(range(HEAD_ROWS), reader, strict=False)]
    lines = "\n".join(", ".join(r) for r in first)
    shape = f"{note}~{rows} rows x {len(header)} columns (pandas is not installed)"
    return f"{shape}\ncolumns: {', '.join(header)}\n{lines}"


def _workbook(path: str) -> str:
    pd = _pandas()
    if pd is None:
        if path.lower().endswith(".xlsx"):
            with zipfile.ZipFile(path) as z:
                sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
            return f"{len(sheets)} sheet(s) (pandas is not installed: no details)"
        return "(pandas is not installed: no details)"
    book = pd.ExcelFile(path)
    parts = []
    for name in book.sheet_names[:10]:
        df = book.parse(name, nrows=1000)
        parts.append(
            f"sheet {name!r}: {df.shape[0]}{'+' if df.shape[0] >= 1000 else ''} rows x {df.shape[1]} "
            f"columns\n{_frame(df)}"
        )
    more = f"\n(+{len(book.sheet_names) - 10} more sheets)" if len(book.sheet_names) > 10 else ""
    return "\n".join(parts) + more


def _json(path: str, lines: bool) -> str:
    pd = _pandas()
    if lines:
        rows = _count_lines(path)
        if pd is not None:
            df = pd.read_json(path, lines=True, nrows=1000)
            return f"~{rows} records\n{_frame(df)}"
        with open(path, encoding="utf-8") as f:
            first = [json.loads(line) for _, line in zip(range(3), f, strict=False) if line.strip()]
        return f"~{rows} records; first: {json.dumps(first)[:600]}"
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, list):
        keys = sorted({k for item in data[:100] if isinstance(item, dict) for k in item})
        return f"a list of {len(data)} items; keys: {', '.join(keys[:30])}; first: {json.dumps(data[:2])[:600]}"
    if isinstance(data, dict):
        return f"an object with keys: {', '.join(list(data)[:30])}"
    return f"a {type(data).__name__}"


def _parquet(path: str) -> str:
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path)
        schema = ", ".join(f"{f.name} ({f.type})" for f in meta.schema_arrow)
        text = f"{meta.metadata.num_rows} rows; schema: {schema}"
    except Exception:
        text = "(pyarrow is not installed: no schema)"
    pd = _pandas()
    if pd is not None and not text.startswith("("):
        text += "\nfirst rows:\n" + pd.read_parquet(path).head(HEAD_ROWS).to_string(max_colwidth=40)
    return text


def _pdf_pages(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read(50_000_000)
    return data.count(b"/Type /Page") - data.count(b"/Type /Pages") or data.count(b"/Type/Page") - data.count(
        b"/Type/Pages"
    )


def _image_size(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":  # no need for Pillow
        return f", {int.from_bytes(head[16:20], 'big')}x{int.from_bytes(head[20:24], 'big')}"
    try:
        from PIL import Image

        with Image.open(path) as image:
            return f", {image.width}x{image.height}"
    except Exception:
        return ""
