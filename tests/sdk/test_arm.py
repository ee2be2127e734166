"""Subscriptions and tenants (azure-mgmt-resource-subscriptions) and ARM's refusals."""

import time

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.resource.subscriptions import SubscriptionClient


def hidden_subscription(sandbox):
    """The customer subscription not delegated to the managing tenant."""
    own = {s.subscription_id for s in SubscriptionClient(sandbox.credential(2), **sandbox.arm()).subscriptions.list()}
    seen = {s.subscription_id for s in SubscriptionClient(sandbox.credential(0), **sandbox.arm()).subscriptions.list()}
    (hidden,) = own - seen
    return hidden


class Forged:
    """A credential whose token the sandbox never issued."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("sbx.eyJ0aWQiOiJ4In0.forged", int(time.time()) + 3600)


def test_subscriptions_and_tenants_with_lighthouse(sandbox, managing):
    client = SubscriptionClient(managing, **sandbox.arm())
    subs = list(client.subscriptions.list())
    assert len(subs) == 11, "3 tenants x 4 subscriptions, one not delegated"
    delegated = [s for s in subs if s.tenant_id != sandbox.tenants[0]]
    assert delegated and all(s.managed_by_tenants[0].tenant_id == sandbox.tenants[0] for s in delegated)
    one = client.subscriptions.get(delegated[0].subscription_id)
    assert one.display_name == delegated[0].display_name
    tenants = list(client.tenants.list())
    assert sorted(t.tenant_id for t in tenants) == sorted(sandbox.tenants)
    assert {t.tenant_category for t in tenants} == {"Home", "ProjectedBy"}


def test_subscription_of_another_tenant_is_invalid_authentication_token_tenant(sandbox, managing):
    hidden = hidden_subscription(sandbox)
    with pytest.raises(ClientAuthenticationError) as refused:
        SubscriptionClient(managing, **sandbox.arm()).subscriptions.get(hidden)
    assert refused.value.status_code == 401
    assert refused.value.error.code == "InvalidAuthenticationTokenTenant"
    assert sandbox.tenants[2] in refused.value.response.headers["WWW-Authenticate"]


def test_unknown_api_version_is_invalid_api_version_parameter(sandbox, managing):
    client = SubscriptionClient(managing, api_version="1999-01-01", **sandbox.arm())
    with pytest.raises(HttpResponseError) as refused:
        list(client.subscriptions.list())
    assert refused.value.status_code == 400
    assert refused.value.error.code == "InvalidApiVersionParameter"
    assert "2022-12-01" in refused.value.error.message


def test_forged_token_is_told_it_is_invalid(sandbox):
    with pytest.raises(ClientAuthenticationError) as refused:
        list(SubscriptionClient(Forged(), **sandbox.arm()).subscriptions.list())
    assert refused.value.status_code == 401
    assert refused.value.error.code == "InvalidAuthenticationToken"
    challenge = refused.value.response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'error_description="The access token is invalid."' in challenge
    assert "missing" not in challenge
