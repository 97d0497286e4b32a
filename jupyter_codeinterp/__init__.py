"""jupyter-codeinterp: a local, open Code Interpreter for Jupyter. Imports stay lazy: loading this is cheap."""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import CodeInterpreterApp

    return [{"module": "jupyter_codeinterp", "app": CodeInterpreterApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Lets ``jupyter labextension develop --overwrite .`` link the built extension."""
    return [{"src": "labextension", "dest": "jupyter-codeinterp"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_codeinterp``: register ``%%interpret`` (the engine is imported when a run starts)."""
    from .magic import InterpretMagics

    ipython.register_magics(InterpretMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("interpret", None)
