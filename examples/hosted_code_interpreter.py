"""A script written for OpenAI's hosted Code Interpreter (Responses API), unchanged.

Against the hosted tool it runs with OPENAI_API_KEY set. Against your own Jupyter server, set two variables and it
runs on your kernels with the model your server is configured for (docs/openai-api.md):

    export OPENAI_BASE_URL=http://localhost:8888/codeinterp/v1
    export OPENAI_API_KEY=<your Jupyter token>
    python examples/hosted_code_interpreter.py examples/data/sales.csv
"""

import os
import sys

from openai import OpenAI

client = OpenAI()

csv_path = sys.argv[1] if len(sys.argv) > 1 else "sales.csv"
with open(csv_path, "rb") as f:
    data = client.files.create(file=f, purpose="user_data")

response = client.responses.create(
    model="gpt-4.1",
    tools=[{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [data.id]}}],
    instructions="You are a data analyst. Save charts as PNG files.",
    input="Total the revenue by month and save a bar chart of it as chart.png.",
    include=["code_interpreter_call.outputs"],
)

for item in response.output:
    if item.type == "code_interpreter_call":
        print("--- code ---")
        print(item.code)
        for output in item.outputs or []:
            print("--- output ---")
            print(output.logs if output.type == "logs" else f"[image] {output.url}")
print("--- answer ---")
print(response.output_text)

for part in response.output[-1].content:
    for note in part.annotations:
        if note.type == "container_file_citation":
            content = client.containers.files.content.retrieve(note.file_id, container_id=note.container_id)
            content.write_to_file(note.filename)
            print(f"downloaded {note.filename} ({os.path.getsize(note.filename):,} bytes)")
print(f"usage: {response.usage.total_tokens} tokens")
