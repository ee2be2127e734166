"""Cost Management query (azure-mgmt-costmanagement): actual and amortized, next-link paging,
every documented timeframe, and the refusals."""

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.mgmt.costmanagement import CostManagementClient
from azure.mgmt.costmanagement.models import (
    QueryAggregation,
    QueryDataset,
    QueryDefinition,
    QueryGrouping,
    QueryTimePeriod,
)
from azure.mgmt.resource.subscriptions import SubscriptionClient

from test_arm import hidden_subscription


def definition(kind, timeframe="Custom", granularity="Daily", groups=("ResourceId",)):
    period = None
    if timeframe == "Custom":
        period = QueryTimePeriod(from_property="2026-10-01T00:00:00Z", to="2026-10-31T23:59:59Z")
    return QueryDefinition(
        type=kind,
        timeframe=timeframe,
        time_period=period,
        dataset=QueryDataset(
            granularity=granularity,
            aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
            grouping=[QueryGrouping(type="Dimension", name=g) for g in groups],
        ),
    )


def first_subscription(sandbox, managing):
    subs = SubscriptionClient(managing, **sandbox.arm()).subscriptions.list()
    return next(s.subscription_id for s in subs if s.tenant_id == sandbox.tenants[0])


def all_rows(client, scope, parameters):
    """The first page from the SDK, then each nextLink POSTed with the same body (the SDK leaves
    paging to the caller; send_request runs the client's own pipeline: auth, retries)."""
    result = client.query.usage(scope, parameters)
    columns = [c.name for c in result.columns]
    rows, link, pages = list(result.rows), result.next_link, 1
    while link:
        response = client.send_request(HttpRequest("POST", link, json=parameters.as_dict()))
        response.raise_for_status()
        properties = response.json()["properties"]
        rows.extend(properties["rows"])
        link, pages = properties.get("nextLink"), pages + 1
    return columns, rows, pages


@pytest.mark.parametrize("kind", ["ActualCost", "AmortizedCost"])
def test_daily_cost_by_resource_pages_by_next_link(sandbox, managing, kind):
    client = CostManagementClient(managing, **sandbox.arm())
    scope = f"/subscriptions/{first_subscription(sandbox, managing)}"
    columns, rows, pages = all_rows(client, scope, definition(kind))
    assert columns == ["Cost", "ResourceId", "UsageDate", "Currency"]
    assert pages >= 2, f"{len(rows)} rows should span more than one 1000-row page"
    keys = [(r[1], r[2]) for r in rows]
    assert len(set(keys)) == len(keys), "pages neither overlap nor repeat"
    assert all(20261001 <= r[2] <= 20261031 for r in rows)
    assert sum(r[0] for r in rows) > 0


def test_amortized_spreads_what_actual_bills_at_purchase(sandbox, managing):
    client = CostManagementClient(managing, **sandbox.arm())
    scope = f"/subscriptions/{first_subscription(sandbox, managing)}"
    totals = {}
    for kind in ("ActualCost", "AmortizedCost"):
        result = client.query.usage(scope, definition(kind, granularity="None", groups=("ChargeType",)))
        totals[kind] = {r[1]: r[0] for r in result.rows}
    assert totals["ActualCost"]["Usage"] > 0 and totals["AmortizedCost"]["Usage"] > 0


@pytest.mark.parametrize(
    "timeframe",
    ["MonthToDate", "BillingMonthToDate", "TheLastMonth", "TheLastBillingMonth", "WeekToDate", "TheCurrentMonth"],
)
def test_every_documented_timeframe(sandbox, managing, timeframe):
    client = CostManagementClient(managing, **sandbox.arm())
    scope = f"/subscriptions/{first_subscription(sandbox, managing)}"
    result = client.query.usage(scope, definition("ActualCost", timeframe, groups=("ServiceName",)))
    days = {r[2] for r in result.rows}
    # As of 2026-11-25: the last month is October; the others end yesterday, 24 November.
    if timeframe in ("TheLastMonth", "TheLastBillingMonth"):
        assert min(days) == 20261001 and max(days) == 20261031
    elif timeframe == "WeekToDate":
        assert days == {20261123, 20261124}
    else:
        assert min(days) == 20261101 and max(days) == 20261124


def test_refusals(sandbox, managing):
    scope = f"/subscriptions/{hidden_subscription(sandbox)}"
    with pytest.raises(ClientAuthenticationError) as refused:
        CostManagementClient(managing, **sandbox.arm()).query.usage(scope, definition("ActualCost"))
    assert refused.value.error.code == "InvalidAuthenticationTokenTenant"
    old = CostManagementClient(managing, api_version="1999-01-01", **sandbox.arm())
    with pytest.raises(ResourceNotFoundError) as refused:
        old.query.usage(f"/subscriptions/{first_subscription(sandbox, managing)}", definition("ActualCost"))
    assert refused.value.error.code == "InvalidResourceType"
