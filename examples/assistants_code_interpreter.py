"""A classic Assistants API (v2) code-interpreter script, unchanged: upload a CSV, attach it to a message, stream
the run with an event handler that prints the code and its logs as they arrive, then print the run's steps.

OpenAI shut the hosted Assistants API down in August 2026. Against your own Jupyter server it runs again
(docs/openai-api.md):

    export OPENAI_BASE_URL=http://localhost:8888/codeinterp/v1
    export OPENAI_API_KEY=<your Jupyter token>
    python examples/assistants_code_interpreter.py examples/data/sales.csv
"""

import sys

from openai import AssistantEventHandler, OpenAI
from typing_extensions import override

client = OpenAI()


class EventHandler(AssistantEventHandler):
    @override
    def on_text_created(self, text) -> None:
        print("\nassistant > ", end="", flush=True)

    @override
    def on_text_delta(self, delta, snapshot):
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call):
        print(f"\nassistant > {tool_call.type}\n", flush=True)

    def on_tool_call_delta(self, delta, snapshot):
        if delta.type == "code_interpreter":
            if delta.code_interpreter.input:
                print(delta.code_interpreter.input, end="", flush=True)
            if delta.code_interpreter.outputs:
                print("\n\noutput >", flush=True)
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        print(f"\n{output.logs}", flush=True)


csv_path = sys.argv[1] if len(sys.argv) > 1 else "sales.csv"
with open(csv_path, "rb") as f:
    file = client.files.create(file=f, purpose="assistants")

assistant = client.beta.assistants.create(
    name="Data analyst",
    instructions="You are a data analyst. Write and run code to answer questions about the data.",
    tools=[{"type": "code_interpreter"}],
    model="gpt-4o",
)
thread = client.beta.threads.create()
client.beta.threads.messages.create(
    thread_id=thread.id,
    role="user",
    content="What is the total revenue per region? Save a bar chart as chart.png.",
    attachments=[{"file_id": file.id, "tools": [{"type": "code_interpreter"}]}],
)

with client.beta.threads.runs.stream(
    thread_id=thread.id, assistant_id=assistant.id, event_handler=EventHandler()
) as stream:
    stream.until_done()

run = stream.get_final_run()
print(f"\n\nrun {run.status}, {run.usage.total_tokens if run.usage else 0} tokens")
for step in client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc"):
    if step.step_details.type == "tool_calls":
        for call in step.step_details.tool_calls:
            kinds = [o.type for o in call.code_interpreter.outputs]
            print(
                f"step {step.id}: code_interpreter, {len(call.code_interpreter.input)} chars of code, outputs {kinds}"
            )
    else:
        print(f"step {step.id}: message {step.step_details.message_creation.message_id}")

for message in client.beta.threads.messages.list(thread_id=thread.id, order="asc"):
    for part in message.content:
        if part.type == "image_file":
            data = client.files.content(part.image_file.file_id).read()
            with open("chart-from-run.png", "wb") as out:
                out.write(data)
            print(f"saved chart-from-run.png ({len(data):,} bytes)")
