"""Resource Graph (azure-mgmt-resourcegraph): skip-token paging, common queries, KQL errors."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

INVENTORY = "Resources | project id, name, type, location, resourceGroup, subscriptionId, tags | order by id asc"


def all_pages(client, query, subscriptions=None, top=100):
    rows, token, pages = [], None, 0
    while True:
        options = QueryRequestOptions(top=top, skip_token=token, result_format="objectArray")
        page = client.resources(QueryRequest(subscriptions=subscriptions, query=query, options=options))
        rows.extend(page.data)
        pages += 1
        token = page.skip_token
        if not token:
            return rows, pages, page.total_records


def test_inventory_pages_by_skip_token(sandbox, managing):
    client = ResourceGraphClient(managing, **sandbox.arm())
    rows, pages, total = all_pages(client, INVENTORY)
    assert len(rows) == total == 11 * 60
    assert pages == 7
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_summarize_and_join_with_resource_containers(sandbox, managing):
    client = ResourceGraphClient(managing, **sandbox.arm())
    counts = client.resources(QueryRequest(query="Resources | summarize count() by type | order by count_ desc"))
    assert sum(r["count_"] for r in counts.data) == 11 * 60
    joined = (
        "Resources | join kind=leftouter (ResourceContainers | where type =~ 'microsoft.resources/subscriptions' "
        "| project subscriptionId, subName = name) on subscriptionId | project id, subName | order by id asc"
    )
    rows, _, total = all_pages(client, joined, top=250)
    assert len(rows) == total == 11 * 60
    assert all(r["subName"] for r in rows)


def test_syntax_error_is_parser_failure(sandbox, managing):
    client = ResourceGraphClient(managing, **sandbox.arm())
    with pytest.raises(HttpResponseError) as refused:
        client.resources(QueryRequest(query="Resources | where name == 'x"))
    assert refused.value.status_code == 400
    codes = [d.code for d in refused.value.error.details]
    assert codes == ["InvalidQuery", "ParserFailure"]


def test_unknown_api_version_is_invalid_resource_type(sandbox, managing):
    client = ResourceGraphClient(managing, api_version="1999-01-01", **sandbox.arm())
    with pytest.raises(HttpResponseError) as refused:
        client.resources(QueryRequest(query="Resources | take 1"))
    assert refused.value.status_code == 404
    assert refused.value.error.code == "InvalidResourceType"
