"""The ``%%interpret`` cell magic: the interpreter from inside a notebook cell, running code in this very kernel.

Loading it (``%load_ext jupyter_codeinterp``) imports only IPython's magic machinery; the engine, openai and
nbformat are imported when a run starts. See docs/magic.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

if TYPE_CHECKING:
    from argparse import Namespace

    from .budgets import Amounts
    from .cellrun import CellRun
    from .config import CodeInterpreter

_F = TypeVar("_F", bound=Callable[..., Any])


def _typed(decorator: Any) -> Callable[[_F], _F]:
    """IPython's decorators are untyped; they keep the function's signature."""
    return cast(Callable[[_F], _F], decorator)


def _options(func: _F) -> _F:
    """The options of ``%%interpret``, parsed by IPython's magic_arguments so that ``%%interpret?`` shows them."""
    options: list[tuple[str, dict[str, Any]]] = [
        ("--model", {"help": "Chat model for this run (default: c.CodeInterpreter.model or $CODEINTERP_MODEL)."}),
        ("--max-steps", {"type": int, "help": "Most code executions in this run (default 20)."}),
        (
            "--timeout",
            {
                "type": float,
                "help": "Seconds one execution may take before a KeyboardInterrupt stops it (default 120).",
            },
        ),
        ("--new-thread", {"action": "store_true", "help": "Start a new conversation instead of continuing the last."}),
        (
            "--ask",
            {
                "action": "store_true",
                "help": "Approval mode: show each step's code and ask run / edit / skip / stop before it runs.",
            },
        ),
    ]
    for flag, settings in reversed(options):
        func = _typed(argument(flag, **settings))(func)
    return _typed(magic_arguments())(func)


@magics_class
class InterpretMagics(Magics):
    """Holds one conversation per kernel: consecutive ``%%interpret`` cells continue it."""

    #: Seconds between two updates of the live display.
    update_interval = 0.25

    def __init__(self, shell: Any, *, live_display: bool | None = None) -> None:
        super().__init__(shell)  # type: ignore[no-untyped-call]
        #: The conversation so far (only ever appended to, so providers' prompt caches hold).
        self.messages: list[dict[str, Any]] = []
        self.thread_id = ""
        #: What this conversation's runs have spent, for the thread budgets.
        self.spent: Amounts | None = None
        #: None: decide by the frontend (a kernel's clients update displays; a terminal prints the transcript).
        self.live_display = live_display
        self.last_run: CellRun | None = None

    @_options
    @_typed(line_cell_magic)
    def interpret(self, line: str, cell: str | None = None) -> None:
        """Let a model write and run Python in this kernel until it answers the prompt in the cell's body.

        The code runs here, in your namespace: variables it creates are yours, and it can use yours.
        Consecutive %%interpret cells continue one conversation; --new-thread starts a new one.
        Interrupt the kernel (Ctrl-C) to stop a run.

        As a line magic (%interpret), shows the configuration (never the key); with --new-thread, also
        forgets the conversation.

        Configuration: jupyter_codeinterp_config.py (c.CodeInterpreter.model = ..., base_url, api_key, ...) or
        the environment variables OPENAI_API_KEY, OPENAI_BASE_URL and CODEINTERP_MODEL.
        """
        args = parse_argstring(self.interpret, line)
        if args.new_thread:
            self.messages, self.thread_id, self.spent = [], "", None
        config = self._config(args)
        if cell is None:
            self._show_config(config)
            return
        prompt = cell.strip()
        if not prompt:
            raise UsageError("codeinterp: the cell is empty; write your request below %%interpret.")
        self._run(config, prompt, ask=args.ask or config.approval == "ask")

    # -- one run --------------------------------------------------------------------------------------

    def _run(self, config: CodeInterpreter, prompt: str, *, ask: bool) -> None:
        from .budgets import Amounts, budget_for
        from .cell_approval import MainThreadCalls, kernel_approval
        from .cellrun import run_in_cell
        from .config import ConfigError
        from .filetrack import FileTracker
        from .hooks import chain
        from .loop import new_id
        from .redaction import redact

        if os.environ.get("CODEINTERP_SANDBOX"):
            raise UsageError(
                "codeinterp: this is a sandboxed kernel: it has no network, so %%interpret (which calls the model "
                "from inside the kernel) cannot reach the model. Use the Code Interpreter sidebar or `jupyter "
                "codeinterp run`: they call the model from outside and run the code here, in the sandbox."
            )
        try:
            config.check()
        except ConfigError as exc:
            raise UsageError(f"codeinterp: {exc}") from None
        if not self.thread_id:
            self.messages, self.thread_id, self.spent = [], new_id("thread"), None
        calls = MainThreadCalls()
        tracker = FileTracker(first_turn=not self.messages)
        hooks = chain(budget_for(config, self.spent), kernel_approval(calls) if ask else None, tracker)
        started = time.monotonic()
        live = self.live_display if self.live_display is not None else getattr(self.shell, "kernel", None) is not None
        outcome, display = run_in_cell(
            self.shell,
            config,
            prompt,
            messages=self.messages,
            thread_id=self.thread_id,
            live=live,
            interval=self.update_interval,
            hooks=hooks,
            calls=calls,
            tracker=tracker,
        )
        self.last_run = outcome
        result = outcome.result
        if result is not None and result.state is not None:
            usage = result.usage
            cost = float(usage.get("cost_usd", 0.0))
            ran = Amounts(usage["total_tokens"], result.state.executed, time.monotonic() - started, cost)
            self.spent = (self.spent or Amounts()).plus(ran)
        if outcome.abandoned or outcome.error is not None or result is None:
            # The worker may still hold the old list: the next run starts a fresh conversation.
            self.messages, self.thread_id = [], ""
            display.refresh(force=True)
            if outcome.abandoned:
                raise UsageError("codeinterp: the run did not stop after the interrupt; it was abandoned.")
            error = outcome.error
            detail = f"{type(error).__name__}: {error}" if error is not None else "no result"
            raise UsageError(redact(f"codeinterp: the run crashed ({detail}).", config.api_key))
        if result.status == "failed" and not display.has_content:
            display.blank()
        else:
            display.refresh(force=True)
        if result.status == "failed":
            raise UsageError(f"codeinterp: {result.reason}")
        if result.status == "cancelled":
            raise UsageError("codeinterp: the run was cancelled.")

    # -- configuration --------------------------------------------------------------------------------

    def _config(self, args: Namespace) -> CodeInterpreter:
        """The same config files and environment variables as the server and the CLI, then this cell's options."""
        from .config import ConfigError, configure

        try:
            config = configure(model=args.model, max_steps=args.max_steps, timeout=args.timeout)
        except ConfigError as exc:
            raise UsageError(f"codeinterp: {exc}") from None
        except Exception as exc:  # a broken config file
            raise UsageError(f"codeinterp: could not read the configuration: {type(exc).__name__}: {exc}") from None
        return config

    def _show_config(self, config: CodeInterpreter) -> None:
        from IPython.display import display

        from .config import ConfigError

        rows = [
            (key, repr(value) if isinstance(value, str) else str(value)) for key, value in config.public_dict().items()
        ]
        turns = sum(1 for m in self.messages if m.get("role") == "user")
        rows.append(("conversation", f"{turns} prompt(s) so far" if turns else "new"))
        try:
            config.check()
        except ConfigError as exc:
            rows.append(("problem", str(exc)))
        plain = "Code Interpreter configuration (the key is never shown)\n" + "\n".join(
            f"  {key}: {value}" for key, value in rows
        )
        markdown = "**Code Interpreter configuration** (the key is never shown)\n\n| setting | value |\n|---|---|\n"
        markdown += "\n".join(f"| {key} | {value.replace('|', '/')} |" for key, value in rows)
        display({"text/plain": plain, "text/markdown": markdown}, raw=True)
