"""Classic Assistants API v2 code-interpreter scripts run against the local server with the real ``openai`` SDK
(``client.beta.*``): assistants, threads, messages with attached files, runs polled and streamed, run steps with
the code and its outputs, generated files downloadable through /v1/files."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncAssistantEventHandler, AsyncOpenAI
from openai.types.beta.threads.runs import ToolCall, ToolCallDelta

from tests.openai_support import *  # noqa: F403
from tests.openai_support import run_example
from tests.scripted_llm import ScriptedLLM, answer, code, error
from tests.server_support import Api

CSV = b"month,revenue\nJan,10\nFeb,30\nMar,20\n"
PLOT = """
import pandas as pd, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
df = pd.read_csv("sales.csv")
print(df["revenue"].sum())
df.plot(x="month", y="revenue", kind="bar").figure.savefig("chart.png")
from IPython.display import Image, display
display(Image("chart.png"))
"""

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def assistant_with_a_csv(client: AsyncOpenAI) -> tuple[Any, Any]:
    csv = await client.files.create(file=("sales.csv", io.BytesIO(CSV)), purpose="assistants")
    assistant = await client.beta.assistants.create(
        model="gpt-4o", name="Analyst", instructions="You analyse data.", tools=[{"type": "code_interpreter"}]
    )
    return assistant, csv


async def test_the_polling_flow_attachments_steps_and_a_generated_image(
    client: AsyncOpenAI, llm: ScriptedLLM, api: Api, jp_root_dir: Path
) -> None:
    assistant, csv = await assistant_with_a_csv(client)
    thread = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Total the revenue and plot it.",
                "attachments": [{"file_id": csv.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )
    llm.script(code(PLOT), answer("Revenue totals 60: see [chart.png](sandbox:/mnt/data/chart.png)."))
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert run.status == "completed", run.last_error
    assert run.usage is not None and run.usage.total_tokens > 0

    steps = (await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc")).data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    [call] = steps[0].step_details.tool_calls  # type: ignore[union-attr]
    assert call.type == "code_interpreter" and "read_csv" in call.code_interpreter.input
    logs = [o for o in call.code_interpreter.outputs if o.type == "logs"]
    images = [o for o in call.code_interpreter.outputs if o.type == "image"]
    assert "60" in logs[0].logs and len(images) == 1
    png = await client.files.content(images[0].image.file_id)
    assert png.read().startswith(b"\x89PNG")
    again = await client.beta.threads.runs.steps.retrieve(steps[0].id, thread_id=thread.id, run_id=run.id)
    assert again.id == steps[0].id

    messages = (await client.beta.threads.messages.list(thread_id=thread.id, order="asc")).data
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[1]
    assert reply.run_id == run.id and reply.assistant_id == assistant.id
    kinds = [c.type for c in reply.content]
    assert kinds == ["image_file", "text"]
    text = reply.content[1].text  # type: ignore[union-attr]
    assert "60" in text.value
    [note] = text.annotations
    assert note.type == "file_path" and note.text == "sandbox:/mnt/data/chart.png"
    chart = await client.files.content(note.file_path.file_id)  # type: ignore[union-attr]
    assert chart.read().startswith(b"\x89PNG")
    assert (await client.beta.threads.messages.retrieve(reply.id, thread_id=thread.id)).id == reply.id

    # The thread is a container underneath, with a notebook record of its steps.
    status, notebook = await api.get("codeinterp", "v1", "threads", thread.id, "notebook")
    assert status == 200
    assert any("read_csv" in "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")


async def test_the_streaming_flow_with_an_event_handler_prints_code_and_logs_as_they_arrive(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    assistant, csv = await assistant_with_a_csv(client)
    thread = await client.beta.threads.create()
    await client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="What is the total?",
        attachments=[{"file_id": csv.id, "tools": [{"type": "code_interpreter"}]}],
    )
    llm.script(
        code("import pandas as pd\nprint(pd.read_csv('sales.csv')['revenue'].sum())"), answer("The total is 60.")
    )
    printed: list[str] = []

    class Printer(AsyncAssistantEventHandler):
        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            printed.append(f"text:{delta.value}")

        async def on_tool_call_created(self, tool_call: ToolCall) -> None:
            printed.append(f"tool:{tool_call.type}")

        async def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
            if delta.type == "code_interpreter" and delta.code_interpreter:
                if delta.code_interpreter.input:
                    printed.append(f"input:{delta.code_interpreter.input}")
                for output in delta.code_interpreter.outputs or []:
                    if output.type == "logs":
                        printed.append(f"logs:{output.logs}")

    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Printer()
    ) as stream:
        await stream.until_done()
        run = await stream.get_final_run()
        final_messages = await stream.get_final_messages()

    assert run.status == "completed"
    assert printed[0] == "tool:code_interpreter"
    code_typed = "".join(p.removeprefix("input:") for p in printed if p.startswith("input:"))
    assert code_typed == "import pandas as pd\nprint(pd.read_csv('sales.csv')['revenue'].sum())"
    assert "logs:60\n" in printed
    assert "".join(p.removeprefix("text:") for p in printed if p.startswith("text:")) == "The total is 60."
    assert final_messages[-1].content[0].text.value == "The total is 60."  # type: ignore[union-attr]


async def test_a_second_run_keeps_the_kernel_and_the_thread(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    assistant = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Set x to 41."}])
    llm.script(code("x = 41"), answer("Done."), code("print(x + 1)"), answer("42."))
    first = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    await client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Add one.")
    second = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert first.status == second.status == "completed"
    steps = (await client.beta.threads.runs.steps.list(run_id=second.id, thread_id=thread.id, order="asc")).data
    assert steps[0].step_details.tool_calls[0].code_interpreter.outputs[0].logs == "42\n"  # type: ignore[union-attr]
    assert "Set x to 41." in json.dumps(llm.requests[-1]["messages"])
    texts = [m.content[-1].text.value for m in (await client.beta.threads.messages.list(thread.id, order="asc")).data]
    assert texts == ["Set x to 41.", "Done.", "Add one.", "42."]
    listed = await client.beta.threads.runs.list(thread_id=thread.id, order="asc")
    assert [r.id for r in listed.data] == [first.id, second.id]


async def test_a_failed_run_has_its_last_error_and_cancel_stops_a_run(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    assistant = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    llm.script(error(500, "the model is down"))
    failed = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert failed.status == "failed" and failed.last_error is not None
    assert failed.last_error.code == "server_error" and "500" in failed.last_error.message

    await client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Sleep.")
    llm.script(code("import time\ntime.sleep(60)"), answer("never"))
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    for _ in range(200):
        steps = (await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id)).data
        if steps and steps[0].step_details.tool_calls[0].code_interpreter.input:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    with pytest.raises(openai.BadRequestError):  # no messages while a run is active, as hosted
        await client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Hurry")
    cancelled = await client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled"
    [step] = (await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id)).data
    assert step.status == "cancelled"


async def test_assistants_are_created_updated_listed_and_deleted(client: AsyncOpenAI) -> None:
    made = await client.beta.assistants.create(model="gpt-4o", name="A", tools=[{"type": "code_interpreter"}])
    assert made.model == "scripted-model"  # the model that really answers
    updated = await client.beta.assistants.update(made.id, name="B", instructions="Be brief.")
    assert updated.name == "B" and updated.instructions == "Be brief."
    assert [a.id for a in (await client.beta.assistants.list()).data] == [made.id]
    assert (await client.beta.assistants.delete(made.id)).deleted
    with pytest.raises(openai.NotFoundError):
        await client.beta.assistants.retrieve(made.id)


async def test_bad_inputs_are_openai_shaped_4xx(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as tool:
        await client.beta.assistants.create(model="m", tools=[{"type": "file_search"}])
    assert tool.value.body["param"] == "tools[0].type"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        await client.beta.assistants.create(model="m", tools=[{"type": "function", "function": {"name": "f"}}])
    assistant = await client.beta.assistants.create(model="m", tools=[{"type": "code_interpreter"}])
    one = await client.beta.threads.create()
    two = await client.beta.threads.create()
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.runs.create(thread_id="thread_missing", assistant_id=assistant.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.runs.create(thread_id=one.id, assistant_id="asst_missing")
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.create(
            thread_id=one.id, role="user", content="x", attachments=[{"file_id": "file-missing"}]
        )
    with pytest.raises(openai.BadRequestError):
        await client.beta.threads.messages.create(thread_id=one.id, role="system", content="x")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        await client.beta.threads.messages.create(
            thread_id=one.id,
            role="user",
            content="x",
            attachments=[
                {
                    "file_id": (await client.files.create(file=("a.txt", io.BytesIO(b"a")), purpose="assistants")).id,
                    "tools": [{"type": "file_search"}],
                }
            ],
        )
    await client.beta.threads.messages.create(thread_id=one.id, role="user", content="hi")
    with pytest.raises(openai.NotFoundError):  # a run of another thread
        llm_free = await client.beta.threads.runs.create(thread_id=one.id, assistant_id=assistant.id)
        await client.beta.threads.runs.retrieve(llm_free.id, thread_id=two.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.retrieve("msg_missing", thread_id=two.id)


EXAMPLE = Path(__file__).parent.parent / "examples" / "assistants_code_interpreter.py"


async def test_the_classic_assistants_example_script_runs_unchanged(
    llm: ScriptedLLM, api_url: str, token: str, http_server_client: object, tmp_path: Path
) -> None:
    llm.script(code(PLOT), answer("Revenue totals 60; the chart is chart.png."))
    (tmp_path / "sales.csv").write_bytes(CSV)
    text = await run_example(EXAMPLE, "sales.csv", cwd=tmp_path, api_url=api_url, token=token)
    assert "assistant > code_interpreter" in text and "read_csv" in text and "\n60\n" in text
    assert "assistant > Revenue totals 60" in text and "run completed" in text
    assert "outputs ['logs', 'image']" in text and "saved chart-from-run.png" in text
    assert (tmp_path / "chart-from-run.png").read_bytes().startswith(b"\x89PNG")


async def test_tool_resources_files_are_in_the_thread_s_kernel_and_create_and_run_works(
    client: AsyncOpenAI, llm: ScriptedLLM, api: Api
) -> None:
    csv = await client.files.create(file=("sales.csv", io.BytesIO(CSV)), purpose="assistants")
    notes = await client.files.create(file=("notes.txt", io.BytesIO(b"n")), purpose="assistants")
    assistant = await client.beta.assistants.create(
        model="m", tools=[{"type": "code_interpreter"}], tool_resources={"code_interpreter": {"file_ids": [csv.id]}}
    )
    llm.script(code("import os\nprint(sorted(f for f in os.listdir('.') if not f.endswith('.ipynb')))"), answer("ok"))
    run = await client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "What files do you have?"}]},
        tool_resources={"code_interpreter": {"file_ids": [notes.id]}},
        poll_interval_ms=50,
    )
    assert run.status == "completed"
    steps = (await client.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id)).data
    logs = steps[-1].step_details.tool_calls[0].code_interpreter.outputs[0].logs  # type: ignore[union-attr]
    assert logs == "['notes.txt', 'sales.csv']\n"

    thread = await client.beta.threads.retrieve(run.thread_id)
    assert thread.tool_resources is not None
    kernels_before = {k["id"] for k in (await api.get("api", "kernels"))[1]}
    assert (await client.beta.threads.delete(thread.id)).deleted
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.retrieve(thread.id)
    assert len({k["id"] for k in (await api.get("api", "kernels"))[1]}) == len(kernels_before) - 1
