"""host.json and every function.json validate against the SchemaStore schemas in ../shared/schemas."""

import json
import pathlib

import jsonschema
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = REPO.parent / "shared" / "schemas"
FUNCTION_FILES = sorted(REPO.glob("functions/*/function.json")) + sorted(
    REPO.glob("tests/foundation/app/functions/*/function.json")
)


def load(path: pathlib.Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_host_json_is_valid():
    schema = load(SCHEMAS / "host.schema.json")
    jsonschema.Draft7Validator(schema).validate(load(REPO / "host.json"))


def test_there_are_function_files():
    assert len(FUNCTION_FILES) >= 8


@pytest.mark.parametrize("path", FUNCTION_FILES, ids=lambda p: p.parent.name)
def test_function_json_is_valid(path):
    # The schema says draft-04 but uses `const`, which only draft-06+ validators honour.
    schema = load(SCHEMAS / "function.schema.json")
    jsonschema.Draft7Validator(schema).validate(load(path))


def test_an_invalid_function_json_is_rejected():
    schema = load(SCHEMAS / "function.schema.json")
    bad = {"bindings": [{"type": "queueTrigger", "direction": "sideways", "name": "m", "queueName": "q"}]}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(bad))
