"""Files and containers through the real ``openai`` SDK: upload, list, download, delete; a container is a kernel
with a folder and a notebook record; it expires when idle, and an expired container is refused as hosted."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.openai_support import *  # noqa: F403
from tests.openai_support import jp_server_config as base_config
from tests.scripted_llm import ScriptedLLM, answer, code
from tests.server_support import Api

CSV = b"a,b\n1,2\n"


@pytest.fixture
def jp_server_config(llm: ScriptedLLM, store_path: Path) -> dict[str, Any]:
    config = base_config.__wrapped__(llm, store_path)  # type: ignore[attr-defined]
    config["CodeInterpreterApp"]["container_idle_limit"] = 1.0
    return config


async def test_files_upload_list_download_and_delete(client: AsyncOpenAI) -> None:
    first = await client.files.create(file=("a.csv", io.BytesIO(CSV)), purpose="user_data")
    second = await client.files.create(file=("b.txt", io.BytesIO(b"hello")), purpose="assistants")
    listed = await client.files.list()
    assert [f.id for f in listed.data] == [second.id, first.id]  # newest first
    assert [f.id for f in (await client.files.list(purpose="assistants")).data] == [second.id]
    page = await client.files.list(limit=1, order="asc")
    assert [f.id for f in page.data] == [first.id] and page.has_more
    assert (await client.files.retrieve(first.id)).filename == "a.csv"
    assert (await client.files.content(first.id)).read() == CSV
    deleted = await client.files.delete(first.id)
    assert deleted.deleted and deleted.id == first.id
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(first.id)


async def test_a_file_over_the_limit_or_without_purpose_is_refused_and_nothing_is_kept(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as too_big:
        await client.files.create(file=("big.bin", io.BytesIO(b"x" * 200_001)), purpose="user_data")
    assert too_big.value.status_code == 413 and "200,000" in too_big.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        await client.files.create(file=("a.csv", io.BytesIO(CSV)), purpose="nonsense")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "purpose"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        await client.files.create(file=(".hidden", io.BytesIO(CSV)), purpose="user_data")
    assert (await client.files.list()).data == []


async def test_a_container_is_a_kernel_with_a_folder_its_files_and_a_notebook_record(
    client: AsyncOpenAI, llm: ScriptedLLM, api: Api, jp_root_dir: Path
) -> None:
    upload = await client.files.create(file=("data.csv", io.BytesIO(CSV)), purpose="user_data")
    container = await client.containers.create(name="analysis", file_ids=[upload.id])
    assert container.status == "running" and container.name == "analysis"
    assert container.expires_after.minutes == 20 and container.memory_limit == "1g"
    extra = await client.containers.files.create(container.id, file=("notes.txt", io.BytesIO(b"n")))
    by_id = await client.containers.files.create(container.id, file_id=upload.id)  # a second copy: a new name
    assert extra.source == "user" and extra.path == "/mnt/data/notes.txt"
    assert by_id.path == "/mnt/data/data (2).csv"

    llm.script(code("open('out.txt', 'w').write(open('data.csv').read().upper())"), answer("Wrote out.txt."))
    response = await client.responses.create(
        model="m", tools=[{"type": "code_interpreter", "container": container.id}], input="Upper-case it."
    )
    assert response.status == "completed"
    files = {f.path: f for f in (await client.containers.files.list(container.id)).data}
    assert set(files) == {"/mnt/data/data.csv", "/mnt/data/notes.txt", "/mnt/data/data (2).csv", "/mnt/data/out.txt"}
    assert files["/mnt/data/out.txt"].source == "assistant"
    out = await client.containers.files.content.retrieve(files["/mnt/data/out.txt"].id, container_id=container.id)
    assert out.read() == b"A,B\n1,2\n"

    # The kernel is one of the server's, the runs are ordinary runs, and the notebook record holds the step.
    kernels = {k["id"] for k in (await api.get("api", "kernels"))[1]}
    record = (await api.get("codeinterp", "v1", "containers", container.id))[1]
    assert record["kernel_id"] in kernels
    runs = (await api.get("codeinterp", "runs", params={"since": "0"}))[1]["runs"]
    assert [r["notebook_path"] for r in runs] == [record["notebook_path"]]
    sessions = (await api.get("api", "sessions"))[1]
    assert {(s["path"], s["kernel"]["id"]) for s in sessions} == {(record["notebook_path"], record["kernel_id"])}
    notebook = json.loads((jp_root_dir / record["notebook_path"]).read_text())
    assert any("upper()" in "".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")

    await client.containers.files.delete(extra.id, container_id=container.id)
    assert not (jp_root_dir / record["folder"] / "notes.txt").exists()
    other = await client.containers.create(name="other")
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.retrieve(out_id := files["/mnt/data/out.txt"].id, container_id=other.id)
    assert out_id

    assert (await client.containers.delete(container.id)) is None or True
    with pytest.raises(openai.NotFoundError):
        await client.containers.retrieve(container.id)
    assert record["kernel_id"] not in {k["id"] for k in (await api.get("api", "kernels"))[1]}


async def test_an_idle_container_expires_its_kernel_goes_and_using_it_is_a_400(client: AsyncOpenAI, api: Api) -> None:
    container = await client.containers.create(name="short", expires_after={"anchor": "last_active_at", "minutes": 1})
    kernel_id = ((await api.get("codeinterp", "v1", "containers", container.id))[1])["kernel_id"]
    for _ in range(100):
        if (await client.containers.retrieve(container.id)).status == "expired":
            break
        await asyncio.sleep(0.1)
    assert (await client.containers.retrieve(container.id)).status == "expired"
    assert kernel_id not in {k["id"] for k in (await api.get("api", "kernels"))[1]}
    with pytest.raises(openai.BadRequestError) as refused:
        await client.responses.create(
            model="m", tools=[{"type": "code_interpreter", "container": container.id}], input="Hello?"
        )
    assert refused.value.code == "container_expired"
    with pytest.raises(openai.BadRequestError):
        await client.containers.files.create(container.id, file=("x.txt", io.BytesIO(b"x")))


async def test_containers_list_in_pages(client: AsyncOpenAI) -> None:
    made = [await client.containers.create(name=f"c{n}") for n in range(3)]
    first = await client.containers.list(limit=2, order="asc")
    assert [c.id for c in first.data] == [made[0].id, made[1].id] and first.has_more
    rest = await client.containers.list(limit=2, order="asc", after=made[1].id)
    assert [c.id for c in rest.data] == [made[2].id]
    everything = [c.id async for c in client.containers.list(limit=1, order="asc")]  # the SDK's auto-paging
    assert everything == [c.id for c in made]
