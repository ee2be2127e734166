#!/usr/bin/env bash
# The module layers of handlers/ (see handlers/README.md), checked from the source's paths: every
# `crate::<module>` path and every `tokio`/`sqlx` path in a layer's files is compared with what
# that layer may not use. Prints each offence as file:line and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - "$@" <<'PY'
import pathlib
import re
import sys

# layer -> (crate modules it must not name, external crates it must not name).
# "*" forbids every crate path: the invocation protocol stands alone.
RULES = {
    "rules": (
        {"store", "azure", "raw", "api", "ingest", "evaluation", "triggers"},
        {"tokio", "sqlx"},
    ),
    "analytics": (
        {"store", "azure", "raw", "api", "ingest", "evaluation", "triggers", "rules", "sandbox"},
        {"tokio", "sqlx"},
    ),
    "azure": ({"rules", "ingest", "api", "triggers"}, set()),
    "store": ({"api", "ingest", "triggers"}, set()),
    "invocation": ({"*"}, set()),
    "ingest": ({"invocation", "api"}, set()),
    "remediation": ({"invocation", "api", "triggers", "ingest", "web"}, set()),
}

CRATE_PATH = re.compile(r"\bcrate::(\{)?\s*([A-Za-z_][A-Za-z0-9_]*)?")
EXTERNAL = re.compile(r"(?<![A-Za-z0-9_:])(tokio|sqlx)::|\buse\s+(tokio|sqlx)\b")


def strip(line):
    """The code of a line without its `//` comment (string literals kept as they are)."""
    out, in_str, i = [], False, 0
    while i < len(line):
        c = line[i]
        if in_str:
            if c == "\\":
                out.append(line[i : i + 2])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif line.startswith("//", i):
            break
        out.append(c)
        i += 1
    return "".join(out)


def group_heads(lines, row, col):
    """The first segment of each top-level item of a `crate::{ ... }` group, with its line."""
    heads, depth, token, item_start = [], 0, "", True
    r, c = row, col
    while r < len(lines):
        text = lines[r]
        while c < len(text):
            ch = text[c]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return heads
            elif depth == 1 and ch == ",":
                item_start = True
            elif depth == 1 and item_start and (ch.isalnum() or ch == "_"):
                token += ch
            elif token:
                heads.append((token, r))
                token, item_start = "", False
            c += 1
        if token:
            heads.append((token, r))
            token, item_start = "", False
        r, c = r + 1, 0
    return heads


offences = []
for layer, (modules, crates) in RULES.items():
    files = sorted(pathlib.Path("handlers", layer).rglob("*.rs"))
    single = pathlib.Path("handlers", layer + ".rs")
    if single.exists():
        files.append(single)
    for path in files:
        lines = [strip(l) for l in path.read_text().splitlines()]
        for row, text in enumerate(lines):
            for m in CRATE_PATH.finditer(text):
                if m.group(1):
                    named = group_heads(lines, row, m.start(1))
                else:
                    named = [(m.group(2) or "", row)]
                for module, at in named:
                    if "*" in modules or module in modules:
                        offences.append(f"{path}:{at + 1}: {layer} uses crate::{module}")
            for m in EXTERNAL.finditer(text):
                name = m.group(1) or m.group(2)
                if name in crates:
                    offences.append(f"{path}:{row + 1}: {layer} uses {name}")

for line in sorted(set(offences)):
    print(line)
if offences:
    sys.stdout.flush()
    print(f"{len(set(offences))} layer violation(s); see handlers/README.md", file=sys.stderr)
    sys.exit(1)
print("layers: ok")
PY
