#!/usr/bin/env python3
"""Seeds a migrated SQLite curated store with deterministic data for the API contract test and
load test: tenant A (the one tokens are issued for) with N subscriptions x D days x R cost rows a
day, resources, recommendations in every status, audit records and an ingestion run; tenant B
with a little data of its own. Usage: api-seed.py DB TENANT_A_GUID [--subscriptions 10]
[--days 395] [--rows-per-day 40] [--resources-per-subscription 200] [--other-tenants 0] (more
tenants of 2 subscriptions each, same days and rows). Cost rows name resources that exist, so
locations and tags reach the cost rollups. Prints the seeded ids."""
import argparse
import datetime as dt
import json
import random
import sqlite3
import uuid

p = argparse.ArgumentParser()
p.add_argument("db")
p.add_argument("tenant_a")
p.add_argument("--subscriptions", type=int, default=10)
p.add_argument("--days", type=int, default=395)
p.add_argument("--rows-per-day", type=int, default=40)
p.add_argument("--resources-per-subscription", type=int, default=200)
p.add_argument("--other-tenants", type=int, default=0)
a = p.parse_args()

rng = random.Random(42)
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
TS = NOW.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")
TODAY = NOW.date()
SERVICES = ["Virtual Machines", "Storage", "SQL Database", "Azure App Service", "Bandwidth"]
TYPES = ["microsoft.compute/disks", "microsoft.compute/virtualmachines", "microsoft.network/publicipaddresses",
         "microsoft.storage/storageaccounts"]
LOCATIONS = ["westeurope", "northeurope", "eastus"]


def gid(n: int) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


db = sqlite3.connect(a.db)
db.execute("PRAGMA journal_mode=WAL")
cur = db.cursor()


def tenant(azure_id: str, name: str) -> str:
    tid = str(uuid.uuid4())
    cur.execute("INSERT INTO tenants VALUES (?,?,?,?,1,?,?)", (tid, name, azure_id.lower(), "external", TS, TS))
    return tid


def seed(tid: str, subs: int, days: int, per_day: int, per_sub: int, tag: str) -> dict:
    sub_ids = [gid(0) for _ in range(subs)]
    resources, costs, recs = [], [], []
    for s in sub_ids:
        cur.execute("INSERT INTO subscriptions VALUES (?,?,?,?,NULL,1,NULL,?,?)",
                    (str(uuid.uuid4()), tid, s, f"{tag} subscription {s[:8]}", TS, TS))
        for i in range(per_sub):
            rtype = TYPES[i % len(TYPES)]
            rg = f"rg-{tag}-{i % 7}"
            rid = f"/subscriptions/{s}/resourcegroups/{rg}/providers/{rtype}/res-{i:05d}"
            tags = {"env": ["prod", "dev", "test"][i % 3], "cost-center": f"cc-{i % 11}"}
            if i % 17 == 0:
                tags["note"] = 'has, comma "and quotes"\nand a newline'
            resources.append((tid, rid, s, f"res-{i:05d}", rtype, None, LOCATIONS[i % 3], rg,
                              json.dumps({"name": "Standard_LRS"}), json.dumps(tags),
                              json.dumps({"diskState": "Unattached"}), None, TS, TS, TS, TS))
            if i % 10 == 0:
                status = ["open", "approved", "rejected", "dismissed", "executed", "closed"][(i // 10) % 6]
                savings = round(rng.uniform(5, 500), 2)
                recs.append((str(uuid.uuid4()), tid, s, rid, "waste.unattached_disk", "rule", "waste",
                             f"Delete unattached disk res-{i:05d}", savings, "observed_cost", "EUR", 0.9, "low",
                             "low", savings * 0.9, status, json.dumps({"diskState": "Unattached"}), TS, TS, TS,
                             "system", TS, TS, None))
        for d in range(days):
            day = (TODAY - dt.timedelta(days=d)).isoformat()
            for r in range(per_day):
                svc = SERVICES[r % len(SERVICES)]
                costs.append((tid, day, s, f"rg-{tag}-{r % 7}", svc, svc,
                              f"/subscriptions/{s}/resourcegroups/rg-{tag}-{r % 7}/providers/{TYPES[r % len(TYPES)]}"
                              f"/res-{r:05d}",
                              round(rng.uniform(0.1, 40), 4), round(rng.uniform(0.1, 40), 4), "EUR", TS, TS))
    cur.executemany("INSERT INTO resources VALUES (" + ",".join("?" * 16) + ")", resources)
    cur.executemany("INSERT INTO costs_daily VALUES (" + ",".join("?" * 12) + ")", costs)
    cur.executemany("INSERT INTO recommendations VALUES (" + ",".join("?" * 24) + ")", recs)
    for n in range(30):
        cur.execute("INSERT INTO audit_logs VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (str(uuid.uuid4()), tid, "system", "recommendation.closed", "recommendation",
                     recs[n % len(recs)][0] if recs else "none", json.dumps({"reason": "seed"}), TS, TS, TS))
    run = str(uuid.uuid4())
    cur.execute("INSERT INTO ingestion_runs VALUES (?,?,?,?,?,?,?,?)",
                (run, tid, "manual", f"seed-{tag}", "succeeded", "seed", TS, TS))
    for s in sub_ids:
        cur.execute("INSERT INTO ingestion_run_items VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (str(uuid.uuid4()), tid, run, s, "succeeded", 1, None, json.dumps({"resources": per_sub}), 1200,
                     TS, TS))
    return {"subscriptions": sub_ids, "run": run, "recommendations": [r[0] for r in recs]}


a_id = tenant(a.tenant_a, "Tenant A")
out_a = seed(a_id, a.subscriptions, a.days, a.rows_per_day, a.resources_per_subscription, "a")
b_id = tenant("00000000-0000-4000-8000-0000000000b2", "Tenant B")
seed(b_id, 1, 3, 2, 5, "b")
for n in range(a.other_tenants):
    other = tenant(f"00000000-0000-4000-8000-{0xc000 + n:012x}", f"Tenant {n + 3}")
    seed(other, 2, a.days, a.rows_per_day, min(a.resources_per_subscription, a.rows_per_day), f"t{n}")
db.commit()
print(json.dumps({"tenant_id": a_id, "run_id": out_a["run"], "subscription": out_a["subscriptions"][0],
                  "recommendation": out_a["recommendations"][0]}))
