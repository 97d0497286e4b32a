"""The Jupyter server extension: builds the run service once and mounts the ``/codeinterp`` handlers."""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode, default, validate

from .config import CONFIG_FILE_NAME, CodeInterpreter
from .connection import Connection
from .handlers import routes
from .handlers_connection import connection_routes
from .runs import RunService
from .store import Store


class CodeInterpreterApp(ExtensionApp):
    """Runs a model against the notebook's own kernel on the server, with live events and stored threads.

    Configure it in ``jupyter_server_config.py`` or ``jupyter_codeinterp_config.py``: ``c.CodeInterpreterApp.*``
    for the server side, ``c.CodeInterpreter.*`` for the model and the loop (shared with the CLI and magic).
    """

    name = "jupyter_codeinterp"
    description = __doc__
    load_other_extensions = True
    classes = [*ExtensionApp.classes, CodeInterpreter]

    db_path = Unicode(
        help="SQLite file holding threads, runs, steps and events. Default: <jupyter data dir>/codeinterp/store.sqlite"
    ).tag(config=True)
    max_prompt_chars = Int(100_000, help="Longest prompt accepted by POST /codeinterp/runs (413 beyond).").tag(
        config=True
    )
    list_models = Bool(
        True, help="Serve GET /codeinterp/models, which asks the endpoint for its models (with the key)."
    ).tag(config=True)
    lock_connection = Bool(
        False,
        help="Use only the server's c.CodeInterpreter model, base_url and api_key: users cannot connect another "
        "model from the sidebar (POST /codeinterp/connection is 403) and a remembered connection is ignored.",
    ).tag(config=True)
    connection_file = Unicode(
        help="Where a connection set from the sidebar is remembered when the user asks (a file readable only by "
        "them). Default: <jupyter data dir>/codeinterp/connection.json"
    ).tag(config=True)

    serve_openai_api = Bool(
        True,
        help="Serve the hosted Code Interpreter's API (Files, Containers, Responses) under /codeinterp/v1, for "
        "the openai SDK with base_url=<server>/codeinterp/v1 and api_key=<Jupyter token>.",
    ).tag(config=True)
    openai_data_dir = Unicode(
        help="Where /codeinterp/v1 keeps its records and uploaded files. Default: an 'openai' folder beside db_path."
    ).tag(config=True)
    containers_dir = Unicode(
        "codeinterp-containers",
        help="Folder (relative to the server's root) holding each container's folder and notebook record.",
    ).tag(config=True)
    container_kernel = Unicode(
        help="Kernelspec of new containers. Default: the sandboxed kernel when it is installed, else python3."
    ).tag(config=True)
    container_idle_limit = Float(
        0.0, help="Most seconds a container may stay idle, whatever its expires_after says (0: as it says)."
    ).tag(config=True)

    @default("openai_data_dir")
    def _default_openai_data_dir(self) -> str:
        return os.path.join(os.path.dirname(os.path.expanduser(self.db_path)), "openai")

    @default("connection_file")
    def _default_connection_file(self) -> str:
        return os.path.join(jupyter_data_dir(), "codeinterp", "connection.json")

    @default("db_path")
    def _default_db_path(self) -> str:
        return os.path.join(jupyter_data_dir(), "codeinterp", "store.sqlite")

    @validate("max_prompt_chars")
    def _check_max_prompt_chars(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise ValueError("max_prompt_chars must be at least 1")
        return int(proposal["value"])

    def _config_file_name_default(self) -> str:
        # One config file for every door (server, CLI, magic), not ``jupyter_jupyter_codeinterp_config``.
        return CONFIG_FILE_NAME

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        # parent=self: ``c.CodeInterpreter.*`` from the server's config (and ours) applies.
        config = CodeInterpreter(parent=self)
        store = Store(os.path.expanduser(self.db_path))
        connection = Connection(
            config, path=os.path.expanduser(self.connection_file), locked=self.lock_connection, log=self.log
        )
        connection.load()
        self.service = RunService(
            store=store,
            config=config,
            kernel_manager=self.serverapp.kernel_manager,
            root_dir=os.path.expanduser(self.serverapp.root_dir),
            max_prompt_chars=self.max_prompt_chars,
            list_models=self.list_models,
            log=self.log,
            connection=connection,
        )
        # A store that cannot be opened (read-only, full) does not stop the server: every route says why (503/507)
        # until it opens, and the runs a previous process left in flight are recovered then.
        self.service.recover()
        store.on_open = self.service.recover
        self.settings["codeinterp_service"] = self.service
        if self.serve_openai_api:
            from .openai_api.service import LazyFacade

            self.facade = LazyFacade(
                runs=self.service,
                kernel_manager=self.serverapp.kernel_manager,
                root_dir=os.path.expanduser(self.serverapp.root_dir),
                data_dir=os.path.expanduser(self.openai_data_dir),
                containers_dir=self.containers_dir,
                container_kernel=self.container_kernel,
                container_idle_limit=self.container_idle_limit,
                max_prompt_chars=self.max_prompt_chars,
                session_manager=self.serverapp.session_manager,
            )
            self.settings["codeinterp_facade"] = self.facade
        # The first run would otherwise pay for importing openai (~0.4 s); do it now, off the event loop.
        threading.Thread(target=_warm_up_imports, name="codeinterp-warm-up", daemon=True).start()
        problem = self.service.problem()
        self.log.info(
            "jupyter_codeinterp: model %r at %s; store %s%s",
            self.service.config.model,
            self.service.public_config()["base_url_host"] or "?",
            store.path,
            f" (not ready: {problem})" if problem else "",
        )
        if store.failure is not None:
            self.log.error("jupyter_codeinterp: %s", store.failure.message)

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes())
        self.handlers.extend(connection_routes())
        if self.serve_openai_api:
            from .openai_api.routes import routes as openai_routes

            self.handlers.extend(openai_routes())

    def current_activity(self) -> list[dict[str, str]] | None:
        """Active runs keep the server from shutting down for inactivity."""
        service: RunService | None = getattr(self, "service", None)
        return (service.active_runs() or None) if service is not None else None

    async def stop_extension(self) -> None:
        service: RunService | None = getattr(self, "service", None)
        facade = getattr(self, "facade", None)
        if facade is not None:
            facade.stop()
        if service is not None:
            await service.shutdown()


def _warm_up_imports() -> None:
    for module in ("openai", "jupyter_codeinterp.loop"):
        try:
            importlib.import_module(module)
        except Exception:  # pragma: no cover - a broken install shows up at the first run instead
            return
