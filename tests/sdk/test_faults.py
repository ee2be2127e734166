"""A run against the faulty sandbox (5xx errors and recurring 429 storms in each API's style):
the SDKs' own retry policies absorb every injected failure."""

import requests
from azure.mgmt.advisor import AdvisorManagementClient
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient

from test_cost import all_rows, definition
from test_graph import INVENTORY, all_pages


def test_sdk_retries_absorb_errors_and_storms(faulty):
    credential = faulty.credential(0)
    subs = list(SubscriptionClient(credential, **faulty.arm()).subscriptions.list())
    assert len(subs) == 11
    rows, _, total = all_pages(ResourceGraphClient(credential, **faulty.arm()), INVENTORY)
    assert len(rows) == total == 11 * 60
    sub = next(s.subscription_id for s in subs if s.tenant_id == faulty.tenants[0])
    cost = CostManagementClient(credential, **faulty.arm())
    _, cost_rows, _ = all_rows(cost, f"/subscriptions/{sub}", definition("AmortizedCost"))
    assert cost_rows
    recs = list(AdvisorManagementClient(credential, sub, **faulty.arm()).recommendations.list(top=5))
    assert recs
    vm = next(r["id"] for r in rows if r["type"] == "microsoft.compute/virtualmachines" and sub in r["id"])
    metrics = MonitorManagementClient(credential, sub, **faulty.arm()).metrics.list(
        vm,
        timespan="2026-11-20T00:00:00Z/2026-11-24T00:00:00Z",
        interval="PT1H",
        metricnames="Percentage CPU",
        aggregation="average",
    )
    assert len(metrics.value[0].timeseries[0].data) == 4 * 24

    stats = requests.get(f"{faulty.base}/_sandbox/stats", timeout=10).json()["apis"]
    injected = {api: s.get("faults", {}) for api, s in stats.items()}
    errors = sum(n for f in injected.values() for kind, n in f.items() if kind.startswith("status_5"))
    storms = sum(f.get("storm_429", 0) for f in injected.values())
    assert errors > 0, injected
    assert storms > 0, injected
