"""Fixtures: the sandboxes scripts/sdk-tests.sh started, and official SDK clients pointed at them.

Each sandbox's settings are the `export NAME=VALUE` lines `azcops sandbox` prints; the file holding
them is named by AZCOPS_SDK_CLEAN (no faults) and AZCOPS_SDK_FAULTY (5xx errors and 429 storms).
"""

import os
import pathlib

import pytest
from azure.identity import ClientSecretCredential

ARM_SCOPE = "https://management.azure.com/.default"


class Sandbox:
    """One running sandbox: its settings and helpers to build SDK clients for it."""

    def __init__(self, path):
        self.env = {}
        for line in pathlib.Path(path).read_text().splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export "):].partition("=")
                self.env[name] = value
        self.base = self.env["AZCOPS_ARM_ENDPOINT"]
        self.tenants = self.env["AZCOPS_SANDBOX_TENANTS"].split(",")

    def app(self, n):
        """(tenant id, client id, client secret) of tenant n's development app registration."""
        prefix = f"AZCOPS_SANDBOX_APP_{n}_"
        return (self.env[prefix + "TENANT_ID"], self.env[prefix + "CLIENT_ID"], self.env[prefix + "CLIENT_SECRET"])

    def credential(self, n=0):
        """azure-identity's ClientSecretCredential for tenant n, with the sandbox as authority."""
        tenant, client_id, secret = self.app(n)
        # The sandbox is not a known Entra host: skip instance discovery (it would ask the
        # public cloud which hosts are valid authorities).
        return ClientSecretCredential(tenant, client_id, secret, authority=self.base, disable_instance_discovery=True)

    def arm(self):
        """Keyword arguments pointing a management client at the sandbox."""
        return {"base_url": self.base, "credential_scopes": [ARM_SCOPE]}


def _sandbox(variable):
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f"{variable} is not set: run scripts/sdk-tests.sh")
    return Sandbox(path)


@pytest.fixture(scope="session")
def sandbox():
    """The clean sandbox."""
    return _sandbox("AZCOPS_SDK_CLEAN")


@pytest.fixture(scope="session")
def faulty():
    """The sandbox that injects 5xx errors and 429 storms."""
    return _sandbox("AZCOPS_SDK_FAULTY")


@pytest.fixture(scope="session")
def managing(sandbox):
    """The managing tenant's credential (sees its own and the delegated subscriptions)."""
    return sandbox.credential(0)
