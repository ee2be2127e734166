"""Advisor recommendations (azure-mgmt-advisor) and Monitor metrics (azure-mgmt-monitor)."""

from azure.mgmt.advisor import AdvisorManagementClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest

from test_cost import first_subscription


def test_cost_recommendations_follow_next_links(sandbox, managing):
    sub = first_subscription(sandbox, managing)
    client = AdvisorManagementClient(managing, sub, **sandbox.arm())
    recs = list(client.recommendations.list(filter="Category eq 'Cost'", top=3))
    assert len(recs) > 3, "more than one page of three"
    assert all(r.category == "Cost" for r in recs)
    assert len({r.id for r in recs}) == len(recs)
    assert all(isinstance(v, str) for r in recs for v in (r.extended_properties or {}).values())


def test_vm_metrics_with_aggregations(sandbox, managing):
    sub = first_subscription(sandbox, managing)
    graph = ResourceGraphClient(managing, **sandbox.arm())
    vm = graph.resources(
        QueryRequest(
            subscriptions=[sub],
            query="Resources | where type =~ 'microsoft.compute/virtualmachines' | project id | order by id asc | take 1",
        )
    ).data[0]["id"]
    client = MonitorManagementClient(managing, sub, **sandbox.arm())
    result = client.metrics.list(
        vm,
        timespan="2026-11-10T00:00:00Z/2026-11-24T00:00:00Z",
        interval="PT1H",
        metricnames="Percentage CPU,Available Memory Bytes",
        aggregation="average,maximum,minimum",
    )
    assert result.interval == "PT1H"
    cpu, memory = result.value
    assert cpu.name.value == "Percentage CPU" and cpu.unit == "Percent"
    assert memory.unit == "Bytes"
    points = cpu.timeseries[0].data
    assert len(points) == 14 * 24
    present = [p for p in points if p.average is not None]
    assert present and all(p.minimum <= p.average <= p.maximum for p in present)
