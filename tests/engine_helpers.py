"""Running the interpreter loop against a real kernel and collecting its events, for the engine tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_codeinterp.config import CodeInterpreter
from jupyter_codeinterp.executor import KernelExecutor
from jupyter_codeinterp.loop import Interpreter, RunResult


@dataclass
class Recorded:
    result: RunResult
    events: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    def stages(self, step: int) -> list[str]:
        """The distinct stages of one step, in the order they first appeared."""
        seen: list[str] = []
        for e in self.events:
            if e["type"] == "step" and e["step"] == step and e["stage"] not in seen:
                seen.append(e["stage"])
        return seen

    def code_of(self, step: int) -> str:
        return "".join(e["delta"] for e in self.of_type("step") if e["step"] == step and e["stage"] == "code_delta")


async def run_prompt(
    config: CodeInterpreter,
    kernel_manager: Any,
    prompt: str,
    *,
    messages: list[dict[str, Any]] | None = None,
    interpreter: Interpreter | None = None,
    **kwargs: Any,
) -> Recorded:
    events: list[dict[str, Any]] = []
    interp = interpreter or Interpreter(config, KernelExecutor(kernel_manager))
    executor = interp.executor
    assert isinstance(executor, KernelExecutor)
    try:
        result = await interp.run(prompt, messages=messages, emit=events.append, **kwargs)
    finally:
        executor.close()
    return Recorded(result, events)
