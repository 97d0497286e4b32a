"""The JSON Schema of events and records is generated from the Python types, and everything else follows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from jupyter_codeinterp import events, schema
from jupyter_codeinterp.events import FINAL_STATUSES
from jupyter_codeinterp.runstate import ACTIVE_STATUSES

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "cells").glob("*.json"))


def test_the_committed_schema_and_typescript_types_are_generated_from_the_python_types() -> None:
    """``python -m jupyter_codeinterp.schema --write`` regenerates both; the lab extension compiles against the TS."""
    built = schema.build()
    assert json.loads(schema.SCHEMA_PATH.read_text()) == built, "docs/schema.json is stale: regenerate it"
    assert schema.TS_PATH.read_text() == schema.to_typescript(built), "labextension/src/schema.ts is stale"


def test_typescript_fields_have_the_python_types() -> None:
    ts = schema.to_typescript(schema.build())
    assert "  execution_count?: number | null;" in ts
    assert "  status: 'completed' | 'failed' | 'cancelled';" in ts
    assert "  outputs: Output[];" in ts
    assert "  retract_text?: string;" in ts


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_recorded_events_validate(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema.build())
    for event in json.loads(path.read_text())["events"]:
        validator.validate(event)


def test_a_wrong_field_fails_validation() -> None:
    validator = jsonschema.Draft202012Validator(schema.build())
    good = {"seq": 1, "run_id": "r", "time": 1.0, "type": "text_delta", "delta": "x"}
    validator.validate(good)
    for bad in (
        {**good, "delta": 3},
        {k: v for k, v in good.items() if k != "delta"},
        {**good, "type": "nope"},
        {**good, "dleta": "x"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(bad)


def test_the_values_the_extension_spells_out_match_the_python_ones() -> None:
    ts = (schema.ROOT / "labextension" / "src" / "events.ts").read_text()
    assert f"EVENTS_VERSION = {events.EVENTS_VERSION};" in ts
    for name, values in (("FINAL_STATUSES", FINAL_STATUSES), ("ACTIVE_STATUSES", ACTIVE_STATUSES)):
        spelled = ts.split(f"export const {name}")[1].split(";")[0]
        assert set(re.findall(r"'(\w+)'", spelled)) == set(values), name
