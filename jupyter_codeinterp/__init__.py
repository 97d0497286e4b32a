"""jupyter-codeinterp: a local, open Code Interpreter for Jupyter. Imports stay lazy: loading this is cheap."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import CodeInterpreterApp

    return [{"module": "jupyter_codeinterp", "app": CodeInterpreterApp}]
