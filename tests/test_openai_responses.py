"""Scripts written for the hosted Code Interpreter (Responses + Containers + Files) run against the local server
with the real ``openai`` SDK: only ``base_url`` and ``api_key`` change."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from openai import AsyncOpenAI

from tests.openai_support import *  # noqa: F403
from tests.openai_support import run_example
from tests.scripted_llm import ScriptedLLM, answer, code

EXAMPLE = Path(__file__).parent.parent / "examples" / "hosted_code_interpreter.py"
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CSV = b"month,revenue\nJan,10\nFeb,30\nMar,20\n"
CHART = """
import pandas as pd, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
df = pd.read_csv("sales.csv")
print(df["revenue"].sum())
df.plot(x="month", y="revenue", kind="bar")
plt.savefig("chart.png")
from IPython.display import Image, display
display(Image("chart.png"))
"""


async def test_a_hosted_style_script_uploads_a_csv_and_gets_a_chart_it_can_download(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    uploaded = await client.files.create(file=("sales.csv", io.BytesIO(CSV)), purpose="user_data")
    assert uploaded.bytes == len(CSV) and uploaded.filename == "sales.csv"
    llm.script(code(CHART), answer("Total revenue is 60; the chart is [chart.png](sandbox:/mnt/data/chart.png)."))

    response = await client.responses.create(
        model="gpt-4.1",
        tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [uploaded.id]}}],
        instructions="You are a data analyst.",
        input="Sum the revenue in sales.csv and plot it by month.",
        include=["code_interpreter_call.outputs"],
    )

    assert response.status == "completed", response.error
    call, message = response.output[0], response.output[-1]
    assert call.type == "code_interpreter_call" and "read_csv" in (call.code or "")
    assert call.status == "completed"
    logs = [o for o in call.outputs or [] if o.type == "logs"]
    images = [o for o in call.outputs or [] if o.type == "image"]
    assert logs and "60" in logs[0].logs
    assert len(images) == 1
    assert message.type == "message" and "60" in response.output_text
    [citation] = message.content[0].annotations  # the link's text and target name one file: one citation
    assert response.output_text[citation.start_index : citation.end_index] == "sandbox:/mnt/data/chart.png"
    assert citation.type == "container_file_citation" and citation.filename == "chart.png"
    assert citation.container_id == call.container_id
    content = await client.containers.files.content.retrieve(citation.file_id, container_id=call.container_id)
    assert content.read().startswith(b"\x89PNG")
    assert response.usage is not None and response.usage.total_tokens > 0


async def test_a_streamed_response_follows_the_sdk_event_sequence_and_its_helper_accumulates_it(
    client: AsyncOpenAI, llm: ScriptedLLM, api_url: str, token: str
) -> None:
    llm.script(code("1 / 0"), code("print(1 / 1)"), answer("It is 1.0 once the division is by one."))
    seen: list[str] = []
    numbers: list[int] = []
    deltas = ""
    async with client.responses.stream(
        model="gpt-4.1",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        input="Divide, and fix it if it fails.",
        include=["code_interpreter_call.outputs"],
    ) as stream:
        async for event in stream:
            seen.append(event.type)
            numbers.append(event.sequence_number)
            if event.type == "response.code_interpreter_call_code.delta":
                deltas += event.delta
        final = await stream.get_final_response()

    assert numbers == list(range(len(numbers)))
    assert seen[:2] == ["response.created", "response.in_progress"]
    assert seen[-1] == "response.completed"
    call_stages = [t for t in seen if t.startswith("response.code_interpreter_call")]
    one_call = [
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ]
    assert [t for i, t in enumerate(call_stages) if i == 0 or t != call_stages[i - 1]] == one_call * 2
    assert deltas == "1 / 0print(1 / 1)"
    assert "response.output_text.delta" in seen and "response.output_text.done" in seen
    failed, fixed = final.output[0], final.output[1]
    assert failed.type == fixed.type == "code_interpreter_call"
    assert "ZeroDivisionError" in failed.outputs[0].logs
    assert fixed.outputs[0].logs == "1.0\n"
    assert final.output_text == "It is 1.0 once the division is by one."
    assert final.status == "completed"

    again = await client.responses.retrieve(final.id)
    assert [item.id for item in again.output] == [item.id for item in final.output]
    assert again.output_text == final.output_text


async def test_previous_response_id_keeps_the_kernel_and_the_conversation(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    llm.script(code("x = 41"), answer("x is set."), code("print(x + 1)"), answer("x + 1 is 42."))
    tools = [{"type": "code_interpreter", "container": {"type": "auto"}}]
    first = await client.responses.create(model="m", tools=tools, input="Set x to 41.")
    second = await client.responses.create(
        model="m",
        tools=tools,
        input="Now add one to x.",
        previous_response_id=first.id,
        include=["code_interpreter_call.outputs"],
    )
    assert second.output[0].container_id == first.output[0].container_id
    assert second.output[0].outputs[0].logs == "42\n"
    assert second.previous_response_id == first.id
    history = llm.requests[-1]["messages"]
    assert any("Set x to 41." in str(m.get("content")) for m in history)


async def test_an_image_output_has_a_url_the_client_can_fetch(
    client: AsyncOpenAI, llm: ScriptedLLM, token: str
) -> None:
    llm.script(
        code(CHART.replace('pd.read_csv("sales.csv")', 'pd.DataFrame({"month": ["a"], "revenue": [60]})')),
        answer("Drawn."),
    )
    response = await client.responses.create(
        model="m", tools=[{"type": "code_interpreter"}], input="Draw it.", include=["code_interpreter_call.outputs"]
    )
    image = next(o for o in response.output[0].outputs if o.type == "image")
    got = await client._client.get(image.url, headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content.startswith(b"\x89PNG")
    async with type(client._client)() as stranger:  # no token, no cookie
        unauthenticated = await stranger.get(image.url)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["code"] == "invalid_api_key"


async def test_outputs_come_only_when_included_as_hosted(client: AsyncOpenAI, llm: ScriptedLLM) -> None:
    llm.script(code("print('hi')"), answer("Said hi."))
    response = await client.responses.create(model="m", tools=[{"type": "code_interpreter"}], input="Say hi.")
    assert response.output[0].outputs is None and response.output[0].code == "print('hi')"


async def test_the_hosted_tool_example_script_runs_unchanged_with_two_environment_variables(
    llm: ScriptedLLM, api_url: str, token: str, http_server_client: object, tmp_path: Path
) -> None:
    llm.script(
        code(CHART),
        answer("Done: [chart.png](sandbox:/mnt/data/chart.png)."),
    )
    csv = tmp_path / "sales.csv"
    csv.write_bytes(CSV)
    text = await run_example(EXAMPLE, str(csv), cwd=tmp_path, api_url=api_url, token=token)
    assert "--- code ---" in text and "60" in text and "[image] http" in text
    assert "downloaded chart.png" in text
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")


async def test_input_items_with_files_and_images_instructions_and_settings_reach_the_run(
    client: AsyncOpenAI, llm: ScriptedLLM
) -> None:
    uploaded = await client.files.create(file=("sales.csv", io.BytesIO(CSV)), purpose="user_data")
    pixel = base64.b64encode(PNG_1PX).decode()
    llm.script(code("import os\nprint(sorted(os.listdir('.')))"), answer("Both are here."))
    response = await client.responses.create(
        model="gpt-4.1",
        tools=[{"type": "code_interpreter", "container": {"type": "auto"}}],
        instructions="Answer in one sentence.",
        input=[
            {"role": "developer", "content": "Prefer pandas."},
            {"role": "user", "content": "Earlier question."},
            {"role": "assistant", "content": [{"type": "output_text", "text": "Earlier answer."}]},
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "List the files you were given."},
                    {"type": "input_file", "file_id": uploaded.id},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{pixel}", "detail": "auto"},
                ],
            },
        ],
        temperature=0.3,
        metadata={"job": "nightly"},
        include=["code_interpreter_call.outputs"],
    )
    assert response.status == "completed"
    assert "'sales.csv'" in response.output[0].outputs[0].logs and "'image-1.png'" in response.output[0].outputs[0].logs
    assert response.metadata == {"job": "nightly"} and response.temperature == 0.3
    assert response.instructions is not None and "Prefer pandas." in response.instructions
    first = llm.requests[0]
    system = first["messages"][0]["content"]
    assert "Answer in one sentence." in system and "Prefer pandas." in system
    asked = json.dumps(first["messages"][1:])
    assert "Earlier answer." in asked and "List the files you were given." in asked and "sales.csv" in asked
    assert first["temperature"] == 0.3
