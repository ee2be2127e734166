"""Tokens from the sandbox's Entra endpoints with MSAL and azure-identity, as from Entra."""

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from conftest import ARM_SCOPE


def confidential(sandbox, tenant, client_id, secret):
    # instance_discovery=False: the sandbox is not among Entra's hosts (see conftest).
    return msal.ConfidentialClientApplication(
        client_id, client_credential=secret, authority=f"{sandbox.base}/{tenant}", instance_discovery=False
    )


def test_msal_gets_client_credential_tokens_for_every_tenant(sandbox):
    for n in range(len(sandbox.tenants)):
        tenant, client_id, secret = sandbox.app(n)
        result = confidential(sandbox, tenant, client_id, secret).acquire_token_for_client(scopes=[ARM_SCOPE])
        assert "access_token" in result, result
        assert result["token_type"] == "Bearer"
        assert result["expires_in"] > 0


def test_msal_wrong_secret_is_refused_as_entra_refuses_it(sandbox):
    tenant, client_id, _ = sandbox.app(1)
    result = confidential(sandbox, tenant, client_id, "not-the-secret").acquire_token_for_client(scopes=[ARM_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert "access_token" not in result


def test_unknown_tenant_is_aadsts90002(sandbox):
    unknown = "00000000-0000-0000-0000-000000000000"
    response = requests.get(f"{sandbox.base}/{unknown}/v2.0/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith(f"AADSTS90002: Tenant '{unknown}' not found.")
    _, client_id, secret = sandbox.app(0)
    with pytest.raises(ValueError):
        confidential(sandbox, unknown, client_id, secret)
    credential = ClientSecretCredential(
        unknown, client_id, secret, authority=sandbox.base, disable_instance_discovery=True
    )
    with pytest.raises(ClientAuthenticationError):
        credential.get_token(ARM_SCOPE)


def test_discovery_advertises_https_endpoints(sandbox):
    tenant = sandbox.tenants[0]
    doc = requests.get(f"{sandbox.base}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10).json()
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert doc[key].startswith("https://"), (key, doc[key])


def test_azure_identity_client_secret_credential(sandbox, managing):
    token = managing.get_token(ARM_SCOPE)
    assert token.token
    assert token.expires_on > 0
