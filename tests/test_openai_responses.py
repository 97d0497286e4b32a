"""Scripts written for the hosted Code Interpreter (Responses + Containers + Files) run against the local server
with the real ``openai`` SDK: only ``base_url`` and ``api_key`` change."""

from __future__ import annotations

import io

import pytest
from openai import AsyncOpenAI

from tests.openai_support import *  # noqa: F403
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import store_path  # noqa: F401

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
    citation = message.content[0].annotations[0]
    assert citation.type == "container_file_citation" and citation.filename == "chart.png"
    assert citation.container_id == call.container_id
    content = await client.containers.files.content.retrieve(citation.file_id, container_id=call.container_id)
    assert content.read().startswith(b"\x89PNG")
    assert response.usage is not None and response.usage.total_tokens > 0
