#!/usr/bin/env python3
"""Holds the alert rules (infra/terraform/modules/monitoring/alerts.tf) and the workbook
(workbook.json next to it) to what the handler emits: both parse, every query starts from a
table the handler writes (requests, dependencies, traces, customMetrics), every `azcops.*`
metric name is in handlers/insights/metrics.rs NAMES, every function name is a function under
functions/, and every trace message matched is one the handler logs. Prints PASS/FAIL; exit 1 on
any problem. `--self-test` proves it catches an unknown metric and an unknown table."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MONITORING = Path("infra/terraform/modules/monitoring")
TABLES = {"requests", "dependencies", "traces", "customMetrics"}


def emitted_metrics(repo: Path) -> set[str]:
    text = (repo / "handlers/insights/metrics.rs").read_text(encoding="utf-8")
    block = text.split("pub const NAMES", 1)[1].split("];", 1)[0]
    return set(re.findall(r'"([^"]+)"', block))


def handler_source(repo: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (repo / "handlers").rglob("*.rs"))


def heredoc_body(value: str) -> str:
    """python-hcl2 keeps a heredoc's markers (`<<-KQL` ... `KQL`, sometimes quoted): drop them."""
    text = value.strip().strip('"')
    match = re.match(r"<<-?([A-Za-z_]+)\n(.*)\n\s*\1\s*$", text, re.S)
    return match.group(2) if match else text


def alert_queries(repo: Path) -> dict[str, str]:
    import hcl2  # python-hcl2, installed by scripts/check-infra.sh

    with open(repo / MONITORING / "alerts.tf", encoding="utf-8") as f:
        parsed = hcl2.load(f)
    queries: dict[str, str] = {}
    for block in parsed.get("locals", []):
        for name, rule in block.get("alert_queries", {}).items():
            queries[f"alert {name}"] = heredoc_body(rule["query"])
    return queries


def workbook_queries(repo: Path) -> dict[str, str]:
    doc = json.loads((repo / MONITORING / "workbook.json").read_text(encoding="utf-8"))
    return {
        f"workbook {item.get('name', '?')}": item["content"]["query"]
        for item in doc.get("items", [])
        if "query" in item.get("content", {})
    }


def problems(repo: Path, queries: dict[str, str]) -> list[str]:
    metrics = emitted_metrics(repo)
    functions = {p.name for p in (repo / "functions").iterdir() if p.is_dir()}
    source = handler_source(repo)
    found: list[str] = []
    for where, query in queries.items():
        table = query.strip().split("\n", 1)[0].strip().split()[0]
        if table not in TABLES:
            found.append(f"{where}: table {table!r} is not one the handler writes ({sorted(TABLES)})")
        for metric in re.findall(r'"(azcops\.[A-Za-z0-9_.]+)"', query):
            if metric not in metrics:
                found.append(f"{where}: metric {metric!r} is not emitted (handlers/insights/metrics.rs NAMES)")
        for function in re.findall(r'\bname\s*==\s*"([a-z_]+)"', query):
            if function not in functions:
                found.append(f"{where}: no function {function!r} under functions/")
        for message in re.findall(r'\bmessage\s*==\s*"([^"]+)"', query):
            if f'"{message}"' not in source:
                found.append(f"{where}: the handler never logs {message!r}")
    if not queries:
        found.append("no alert or workbook queries found")
    return found


def check(repo: Path) -> int:
    try:
        queries = {**alert_queries(repo), **workbook_queries(repo)}
    except Exception as e:  # a parse failure is the finding
        print(f"FAIL telemetry: alerts.tf or workbook.json does not parse: {e}")
        return 1
    found = problems(repo, queries)
    for p in found:
        print(f"  {p}")
    if found:
        print(f"FAIL telemetry: {len(found)} problem(s)")
        return 1
    print(f"PASS telemetry: {len(queries)} queries reference only emitted tables and metrics")
    return 0


def self_test(repo: Path) -> int:
    good = {"q": 'customMetrics\n| where name == "azcops.rules.evaluated"'}
    cases = {
        "passes": (good, 0),
        "unknown metric": ({"q": 'customMetrics\n| where name == "azcops.nope"'}, 1),
        "unknown table": ({"q": "exceptions\n| count"}, 1),
        "unknown function": ({"q": 'requests\n| where name == "no_such_function"'}, 1),
        "unknown message": ({"q": 'traces\n| where message == "never logged anywhere"'}, 1),
    }
    failed = 0
    for name, (queries, expected) in cases.items():
        got = 1 if problems(repo, queries) else 0
        ok = got == expected
        failed += 0 if ok else 1
        print(f"{'ok' if ok else 'FAILED'} {name}")
    print(f"telemetrycheck self-test: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(self_test(REPO) if "--self-test" in sys.argv[1:] else check(REPO))
