#!/usr/bin/env python3
"""Assembles and checks the Flex Consumption deployment zip (called by scripts/package.sh).

  package.py elf BINARY            prints the ELF facts package.sh reports (static or the
                                   minimum glibc version) and fails if it is not Linux x86-64
  package.py zip BINARY OUT.zip    writes the zip and checks its layout

The zip holds host.json, one folder per function with its function.json, and the binary under
host.json's defaultExecutablePath with mode 0755 recorded in the entry's Unix attributes (the
package is mounted read-only, so the host cannot add the execute bit itself). Entries are sorted
and timestamped from SOURCE_DATE_EPOCH (default 1980-01-01), so the same inputs give the same zip.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EM_X86_64 = 62
PT_INTERP = 3
ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can carry


class LayoutError(Exception):
    """The package or its inputs do not have the shape the Functions host expects."""


def elf_facts(data: bytes) -> dict:
    """Machine, whether it is dynamically linked, and the GLIBC_x.y versions it needs."""
    if data[:4] != b"\x7fELF":
        raise LayoutError("the binary is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise LayoutError("the binary is not a 64-bit little-endian ELF file")
    (e_type, e_machine, _version, _entry, e_phoff, e_shoff, _flags, _ehsize, e_phentsize, e_phnum,
     e_shentsize, e_shnum, e_shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
    if e_machine != EM_X86_64:
        raise LayoutError(f"the binary is for ELF machine {e_machine}, not x86-64 ({EM_X86_64})")
    interp = any(
        struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] == PT_INTERP for i in range(e_phnum)
    )
    sections = []
    for i in range(e_shnum):
        (_name, sh_type, _flags, _addr, offset, size, link, info, _align, _entsize) = struct.unpack_from(
            "<IIQQQQIIQQ", data, e_shoff + i * e_shentsize
        )
        sections.append((sh_type, offset, size, link, info))
    glibc = set()
    sht_gnu_verneed = 0x6FFFFFFE
    for sh_type, offset, _size, link, count in sections:
        if sh_type != sht_gnu_verneed:
            continue
        strtab = sections[link][1]
        # Elf64_Verneed {vn_version, vn_cnt, vn_file, vn_aux, vn_next} and
        # Elf64_Vernaux {vna_hash, vna_flags, vna_other, vna_name, vna_next}.
        need = offset
        for _ in range(count):
            _vn_version, vn_cnt, _vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, need)
            aux = need + vn_aux
            for _ in range(vn_cnt):
                _hash, _flags, _other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                end = data.index(b"\0", strtab + vna_name)
                name = data[strtab + vna_name : end].decode("ascii", "replace")
                if name.startswith("GLIBC_") and name[6:7].isdigit():
                    glibc.add(name[6:])
                aux += vna_next
            need += vn_next
    return {"type": e_type, "dynamic": interp, "glibc": sorted(glibc, key=version_key)}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def describe_elf(binary: Path) -> str:
    facts = elf_facts(binary.read_bytes())
    if not facts["dynamic"]:
        return "linkage: static (no ELF interpreter)"
    if not facts["glibc"]:
        return "linkage: dynamic, no GLIBC symbol versions"
    return f"linkage: dynamic glibc; minimum glibc {facts['glibc'][-1]}"


def function_dirs(repo: Path) -> list[Path]:
    dirs = sorted(p.parent for p in (repo / "functions").glob("*/function.json"))
    if not dirs:
        raise LayoutError("no functions/*/function.json in the repository")
    return dirs


def executable_name(repo: Path) -> str:
    host = json.loads((repo / "host.json").read_text(encoding="utf-8"))
    name = host.get("customHandler", {}).get("description", {}).get("defaultExecutablePath", "")
    if not name or "/" in name or "%" in name:
        raise LayoutError(f"host.json defaultExecutablePath must be a plain file name, found {name!r}")
    return name


def entry(name: str, mode: int, when: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.create_system = 3  # Unix, so unzip and the host honour the mode bits
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def build_zip(repo: Path, binary: Path, out: Path) -> None:
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH)), ZIP_EPOCH)
    when = time.gmtime(epoch)[:6]
    files = [("host.json", repo / "host.json", 0o644)]
    files += [(f"{d.name}/function.json", d / "function.json", 0o644) for d in function_dirs(repo)]
    files.append((executable_name(repo), binary, 0o755))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w") as z:
        for name, path, mode in sorted(files):
            z.writestr(entry(name, mode, when), path.read_bytes(), compresslevel=9)
    partial.replace(out)


def check_zip(repo: Path, out: Path) -> list[str]:
    """Every problem with the zip's layout (empty when it is what the host expects)."""
    problems = []
    exe = executable_name(repo)
    expected = {"host.json", exe} | {f"{d.name}/function.json" for d in function_dirs(repo)}
    with zipfile.ZipFile(out) as z:
        infos = {i.filename: i for i in z.infolist()}
        if z.testzip() is not None:
            problems.append("a zip entry fails its CRC check")
        for missing in sorted(expected - infos.keys()):
            problems.append(f"missing {missing}")
        for extra in sorted(infos.keys() - expected):
            problems.append(f"unexpected {extra}")
        for name in infos:
            if name.startswith("/") or ".." in name.split("/") or name.endswith("local.settings.json"):
                problems.append(f"forbidden entry {name}")
        for name in expected & infos.keys():
            if name.endswith(".json"):
                try:
                    json.loads(z.read(name))
                except ValueError as e:
                    problems.append(f"{name} is not JSON: {e}")
        if exe in infos:
            mode = infos[exe].external_attr >> 16
            if infos[exe].create_system != 3 or not stat.S_ISREG(mode) or mode & 0o111 != 0o111:
                problems.append(f"{exe} is not stored as an executable file (mode {oct(mode)})")
            try:
                elf_facts(z.read(exe))
            except LayoutError as e:
                problems.append(str(e))
    return problems


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[1] == "elf":
            print(describe_elf(Path(argv[2])))
            return 0
        if len(argv) == 4 and argv[1] == "zip":
            out = Path(argv[3])
            build_zip(REPO, Path(argv[2]), out)
            problems = check_zip(REPO, out)
            if problems:
                for p in problems:
                    print(f"layout check failed: {p}", file=sys.stderr)
                out.unlink()  # nothing downstream may pick up a package that failed its checks
                return 1
            with zipfile.ZipFile(out) as z:
                names = z.namelist()
            print(f"layout ok: {len(names)} entries ({', '.join(names)})")
            return 0
    except (LayoutError, OSError, ValueError, struct.error) as e:
        print(f"package: {e}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
