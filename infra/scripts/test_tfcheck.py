#!/usr/bin/env python3
"""Proves tfcheck.py catches what it claims to: each case copies infra/ to a scratch repository,
introduces one defect, and expects the named check to fail with a message naming it. The
unmodified copy must pass. Prints one line per case and "N passed, N failed" at the end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TF = Path("infra/terraform")

SETTINGS = {
    "IsEncrypted": False,
    "Values": {"FUNCTIONS_WORKER_RUNTIME": "custom", "AzureWebJobsStorage": "UseDevelopmentStorage=true"},
}


def baseline_settings(scratch: Path) -> dict:
    """An example file listing exactly the settings Terraform sets (the passing case)."""
    text = (scratch / TF / "modules/functionapp/settings.tf").read_text(encoding="utf-8")
    block = text.split("app_settings = {", 1)[1].split("\n  }\n", 1)[0]
    keys = re.findall(r"^\s+([A-Za-z_][A-Za-z0-9_]*)\s+=", block, re.M)
    values = dict(SETTINGS["Values"])
    values.update({k: "" for k in keys if not k.startswith("AzureWebJobsStorage__")})
    values["APPLICATIONINSIGHTS_CONNECTION_STRING"] = ""
    return {"IsEncrypted": False, "Values": values}


def replace(path: str, old: str, new: str):
    def apply(scratch: Path):
        f = scratch / path
        text = f.read_text(encoding="utf-8")
        if old not in text:
            raise AssertionError(f"mutation anchor not found in {path}: {old!r}")
        f.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def append(path: str, text: str):
    def apply(scratch: Path):
        with (scratch / path).open("a", encoding="utf-8") as f:
            f.write(text)

    return apply


def settings_extra(key: str):
    def apply(scratch: Path):
        f = scratch / "local.settings.json.example"
        data = json.loads(f.read_text(encoding="utf-8"))
        data["Values"][key] = "1"
        f.write_text(json.dumps(data), encoding="utf-8")

    return apply


CASES = [
    # (name, check, mutation, expected message fragment)
    ("undeclared variable", "modules", replace(f"{TF}/modules/network/main.tf", "var.address_space", "var.address_spaces"), "var.address_spaces is used but not declared"),
    ("unused variable", "modules", append(f"{TF}/modules/monitoring/variables.tf", '\nvariable "orphan" {\n  type = string\n}\n'), 'variable "orphan" is declared but never used'),
    ("missing output", "modules", replace(f"{TF}/modules/azcops/main.tf", "module.storage.raw_container_url", "module.storage.raw_url"), 'output "raw_url" is not declared'),
    ("unknown module argument", "modules", replace(f"{TF}/environments/dev/main.tf", '  environment ', '  colour = "blue"\n  environment '), "passes colour"),
    ("missing required argument", "modules", replace(f"{TF}/modules/azcops/main.tf", "  address_space                  = var.network.address_space\n", ""), "omits required variable address_space"),
    ("unknown tfvars key", "modules", append(f"{TF}/environments/test/terraform.tfvars", "\nsku = 1\n"), "sku is not a variable"),
    ("dangling resource reference", "modules", replace(f"{TF}/modules/storage/main.tf", "azurerm_storage_container.raw.id", "azurerm_storage_container.lake.id"), "azurerm_storage_container.lake is referenced"),
    ("undefined local", "modules", replace(f"{TF}/modules/eventgrid/main.tf", "local.subject_prefix", "local.subject_start"), "local.subject_start is used but not defined"),
    ("syntax error", "parse", append(f"{TF}/modules/storage/main.tf", '\nresource "x" {\n'), "storage/main.tf"),
    ("Contributor in the Lighthouse template", "lighthouse", replace("infra/lighthouse/azcops-delegation.json", "acdd72a7-3385-48ef-bd42-f606fba81ae7", "b24988ac-6180-42a0-ab88-20f7382dd24c"), "b24988ac-6180-42a0-ab88-20f7382dd24c"),
    ("setting read but not deployed", "settings", settings_extra("AZCOPS_NEW_KNOB"), "AZCOPS_NEW_KNOB"),
    ("Blob Data Owner on the storage account", "privilege", replace(f"{TF}/modules/azcops/roles.tf", 'scope                = module.storage.container_ids[each.value]\n  role_definition_name = "Storage Blob Data Contributor"', 'scope                = module.storage.id\n  role_definition_name = "Storage Blob Data Owner"'), "grants Storage Blob Data Owner"),
    ("blob role on the whole account", "privilege", replace(f"{TF}/modules/azcops/roles.tf", 'scope                = module.storage.container_ids["deployment"]', "scope                = module.storage.id"), "never the account"),
    ("app identity may write the deployment container", "privilege", replace(f"{TF}/modules/azcops/roles.tf", 'app_blob_containers = ["raw",', 'app_blob_containers = ["deployment", "raw",'), "on the deployment container"),
    ("app identity as deployment storage identity", "privilege", replace(f"{TF}/modules/azcops/main.tf", "deployment_identity_id   = module.identity.deployment_id", "deployment_identity_id   = module.identity.id"), "deployment_identity_id other than the app identity"),
    ("app identity as PostgreSQL administrator", "privilege", replace(f"{TF}/modules/azcops/main.tf", "admin_principal            = var.postgres_admin", 'admin_principal            = { object_id = module.identity.principal_id, principal_name = module.identity.name, principal_type = "ServicePrincipal" }'), "must not be the PostgreSQL administrator"),
    ("postgres module makes the app an administrator", "privilege", replace(f"{TF}/modules/postgres/main.tf", "object_id           = var.admin_principal.object_id", "object_id           = var.app_identity.principal_id"), "makes the app identity a PostgreSQL administrator"),
    ("organizations authority by default", "privilege", replace(f"{TF}/modules/functionapp/variables.tf", 'authority = optional(string, "https://login.microsoftonline.com")', 'authority = optional(string, "https://login.microsoftonline.com/organizations/v2.0")'), "default AZCOPS_AUTH_AUTHORITY"),
    ("package deployed before the migration", "privilege", replace(".github/workflows/deploy-environment.yml", "needs: [infra, migrate]", "needs: [infra]"), "without needing migrate"),
    ("migration as the app identity", "privilege", replace(".github/workflows/deploy-environment.yml", "client-id: ${{ vars.AZCOPS_DB_ADMIN_CLIENT_ID }}", "client-id: ${{ vars.AZURE_CLIENT_ID }}"), "must sign in as the PostgreSQL administrator"),
    ("setting deployed but not read", "settings", replace(f"{TF}/modules/functionapp/settings.tf", "    RUST_LOG ", '    AZCOPS_STRAY = "x"\n    RUST_LOG '), "AZCOPS_STRAY is set by Terraform but read by nothing"),
]


def run_check(scratch: Path, check: str) -> tuple[int, str]:
    env = dict(os.environ)
    env.pop("TFCHECK_SETTINGS_EXAMPLE", None)
    proc = subprocess.run(
        [sys.executable, str(scratch / "infra/scripts/tfcheck.py"), check],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def fresh_copy(root: Path) -> Path:
    scratch = root / "repo"
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(REPO / "infra", scratch / "infra", ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
    shutil.copytree(REPO / ".github", scratch / ".github")
    (scratch / "handlers").mkdir()
    (scratch / "local.settings.json.example").write_text(json.dumps(baseline_settings(scratch)), encoding="utf-8")
    return scratch


def main() -> int:
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="tfcheck-test-") as tmp:
        root = Path(tmp)
        scratch = fresh_copy(root)
        for check in ("parse", "modules", "settings", "lighthouse", "privilege"):
            rc, out = run_check(scratch, check)
            if rc == 0:
                passed += 1
                print(f"ok   unmodified tree passes {check}")
            else:
                failed += 1
                print(f"FAIL unmodified tree fails {check}:\n{out}")
        for name, check, mutate, expected in CASES:
            scratch = fresh_copy(root)
            mutate(scratch)
            rc, out = run_check(scratch, check)
            if rc != 0 and expected in out:
                passed += 1
                print(f"ok   {name} is caught by {check}")
            else:
                failed += 1
                print(f"FAIL {name} not caught by {check} (rc={rc}, expected {expected!r}):\n{out}")
    print(f"tfcheck self-test: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
