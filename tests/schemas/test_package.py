"""The deployment zip built by scripts/package.sh unpacks to what the Functions host expects.

AZCOPS_PACKAGE_ZIP names the zip (default dist/azcops.zip). When it is missing the tests skip,
unless AZCOPS_REQUIRE_PACKAGE=1 (scripts/test.sh), which makes them fail.
"""

import json
import os
import pathlib
import stat
import zipfile

import jsonschema
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
# AZCOPS_SHARED_DIR moves ../shared when it is not checked out next to the repository.
SCHEMAS = pathlib.Path(os.environ.get("AZCOPS_SHARED_DIR", REPO.parent / "shared")) / "schemas"
ZIP = pathlib.Path(os.environ.get("AZCOPS_PACKAGE_ZIP", REPO / "dist" / "azcops.zip"))
FUNCTIONS = sorted(p.parent.name for p in REPO.glob("functions/*/function.json"))


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    if not ZIP.is_file():
        message = f"{ZIP} does not exist; run scripts/package.sh"
        if os.environ.get("AZCOPS_REQUIRE_PACKAGE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("package")
    with zipfile.ZipFile(ZIP) as z:
        assert z.testzip() is None, "an entry fails its CRC check"
        infos = {i.filename: i for i in z.infolist()}
        z.extractall(root)
    return root, infos


def load(path: pathlib.Path):
    return json.loads(path.read_text(encoding="utf-8"))


def executable_name():
    return load(REPO / "host.json")["customHandler"]["description"]["defaultExecutablePath"]


def test_host_json_is_at_the_root_and_valid(unpacked):
    root, _ = unpacked
    host = load(root / "host.json")
    jsonschema.Draft7Validator(load(SCHEMAS / "host.schema.json")).validate(host)
    assert host == load(REPO / "host.json"), "the packaged host.json differs from the repository's"


def test_every_function_folder_and_nothing_else(unpacked):
    _, infos = unpacked
    assert len(FUNCTIONS) >= 8
    expected = {"host.json", executable_name()} | {f"{name}/function.json" for name in FUNCTIONS}
    assert set(infos) == expected


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_json_is_valid_and_unchanged(unpacked, name):
    root, _ = unpacked
    packaged = load(root / name / "function.json")
    jsonschema.Draft7Validator(load(SCHEMAS / "function.schema.json")).validate(packaged)
    assert packaged == load(REPO / "functions" / name / "function.json")


def test_the_binary_is_an_executable_x86_64_elf(unpacked):
    root, infos = unpacked
    info = infos[executable_name()]
    mode = info.external_attr >> 16
    assert info.create_system == 3, "mode bits are only honoured for Unix entries"
    assert stat.S_ISREG(mode), oct(mode)
    assert mode & 0o777 == 0o755, oct(mode)
    header = (root / executable_name()).read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2, "64-bit"
    assert header[5] == 1, "little-endian"
    assert int.from_bytes(header[18:20], "little") == 62, "EM_X86_64"


def test_no_local_settings_or_unsafe_paths(unpacked):
    _, infos = unpacked
    for name in infos:
        assert not name.endswith("local.settings.json"), name
        assert not name.startswith("/") and ".." not in name.split("/"), name
        assert "\\" not in name, name


def test_no_absolute_build_paths_leak_into_the_json(unpacked):
    root, _ = unpacked
    for path in root.rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert str(REPO) not in text, path
