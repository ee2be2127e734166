#!/usr/bin/env python3
"""Offline consistency checks of the Terraform tree (no provider schemas are available offline).

Subcommands (each prints one PASS/FAIL line and exits non-zero on failure):

  parse     every .tf and .tfvars file under infra/ parses with python-hcl2
  modules   variables, outputs, locals, module calls and resource references agree
  settings  the Function App's app settings match local.settings.json.example
  lighthouse the delegation template grants exactly the three read roles, nothing else
  privilege  least privilege: blob roles scoped to containers (never Blob Data Owner, never the
             account), no app role on the deployment container, the app identity is not the
             PostgreSQL administrator, the public authority by default, migrations by the admin
             principal in the pipeline before the package is deployed

Run from anywhere; paths are resolved from the repository root (two levels up from here).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
TERRAFORM = INFRA / "terraform"
FUNCTION_APP_MODULE = TERRAFORM / "modules" / "functionapp"


# Overridable so the check can be exercised against a scratch file.
EXAMPLE_SETTINGS = Path(os.environ.get("TFCHECK_SETTINGS_EXAMPLE", REPO / "local.settings.json.example"))

# Settings in local.settings.json.example that Terraform deliberately does not set in Azure.
LOCAL_ONLY = {
    "FUNCTIONS_WORKER_RUNTIME": "Flex Consumption rejects it; the runtime is functionAppConfig.runtime (custom)",
    "FUNCTIONS_EXTENSION_VERSION": "Flex Consumption rejects it; Functions 4.x is implied",
    "AzureWebJobsStorage": "a connection string for Azurite; Azure uses the identity-based AzureWebJobsStorage__* settings",
    "AZURE_CLIENT_SECRET": "local service-principal login only; in Azure the managed identity is used and a client secret must never be an app setting",
    "AZURE_TENANT_ID": "local service-principal / workload-identity login only; a managed identity needs no tenant",
    "AZURE_FEDERATED_TOKEN_FILE": "workload identity on Kubernetes/CI only; Functions uses the managed identity endpoint",
    "AZCOPS_RAW_CONTAINER": "names the raw container on Azurite only; in Azure AZCOPS_RAW_STORE is the container URL itself",
    "AZCOPS_DEV_STORAGE_ROOT": "the local host emulator's blob root; Azure delivers blob events through Event Grid",
    "AZCOPS_DIAGNOSTIC_FUNCTIONS": "enables the diag_* trigger-wiring functions, which the deployment package does not ship",
    "AZCOPS_DIAGNOSTIC_FANOUT": "option of the diag_* functions (not shipped)",
    "AZCOPS_DIAGNOSTIC_FAIL_SEQUENCE": "option of the diag_* functions (not shipped)",
    "IDENTITY_ENDPOINT": "set by the Functions platform for the managed identity; locally printed by the sandbox",
    "IDENTITY_HEADER": "set by the Functions platform with IDENTITY_ENDPOINT; locally printed by the sandbox",
    "WEBSITE_SITE_NAME": "set by the Functions platform to the app's name (the telemetry cloud role)",
    "FUNCTIONS_CUSTOMHANDLER_PORT": "set by the Functions host for the handler process it starts",
    "FUNCTIONS_APP_ROOT_PATH": "set by the Functions host for the handler process it starts",
    "AZCOPS_INGEST_CONCURRENCY": "fan-out of the `azcops ingest` command; in Azure the queue trigger's batchSize decides",
    "AZCOPS_NOTIFY_ALLOW_LOOPBACK": "lets channels use http:// loopback URLs for local runs and tests; never set in Azure, where internal addresses are refused",
    "AZCOPS_OPERATOR": "names the operator of command-line changes in the audit log; API changes are audited with the caller's token",
}

# Settings Terraform sets that the binary does not read: they configure the Functions host.
PLATFORM_ONLY = {
    "AzureWebJobsStorage__accountName": "host storage account (identity-based)",
    "AzureWebJobsStorage__credential": "host storage credential kind (managedidentity)",
    "AzureWebJobsStorage__clientId": "host storage user-assigned identity",
}

META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}


def unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s


def code_only(text: str) -> str:
    """Blanks comments and literal string text, keeping code and the code inside ${...}.

    What remains is where references (var.x, module.y.z, ...) can occur, so a description that
    mentions "local.settings.json" is not taken for a reference to local.settings.
    """
    out: list[str] = []
    stack = ["code"]  # "code" or "string"; each "${" pushes code, each '"' in code pushes string
    depth: list[int] = []  # brace depth per interpolation
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if stack[-1] == "string":
            if c == "\\" and i + 1 < n:
                out.append("  ")
                i += 2
            elif c == '"':
                stack.pop()
                out.append(c)
                i += 1
            elif text.startswith("${", i):
                stack.append("code")
                depth.append(0)
                out.append("${")
                i += 2
            else:
                out.append("\n" if c == "\n" else " ")
                i += 1
            continue
        if c == '"':
            stack.append("string")
            out.append(c)
            i += 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif c == "{" and depth:
            depth[-1] += 1
            out.append(c)
            i += 1
        elif c == "}" and depth:
            if depth[-1] == 0:
                depth.pop()
                stack.pop()
            else:
                depth[-1] -= 1
            out.append(c)
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def real_keys(d: dict) -> list[str]:
    """Keys of a python-hcl2 dict without its bookkeeping entries (__is_block__, __comments__)."""
    return [k for k in d if not k.startswith("__")]


@dataclass
class ModuleDir:
    """Everything declared and referenced in one Terraform directory."""

    path: Path
    variables: dict[str, bool] = field(default_factory=dict)  # name -> required
    outputs: set[str] = field(default_factory=set)
    locals: set[str] = field(default_factory=set)
    resources: set[str] = field(default_factory=set)  # "type.name"
    data: set[str] = field(default_factory=set)  # "type.name"
    calls: dict[str, dict] = field(default_factory=dict)  # module name -> body
    text: str = ""
    parsed: dict[str, dict] = field(default_factory=dict)  # file name -> parsed

    def rel(self) -> str:
        return str(self.path.relative_to(REPO))


def load_dir(path: Path) -> ModuleDir:
    m = ModuleDir(path)
    chunks = []
    for tf in sorted(path.glob("*.tf")):
        raw = tf.read_text(encoding="utf-8")
        chunks.append(code_only(raw))
        doc = hcl2.loads(raw)
        m.parsed[tf.name] = doc
        for block in doc.get("variable", []):
            for name in real_keys(block):
                m.variables[unquote(name)] = "default" not in block[name]
        for block in doc.get("output", []):
            m.outputs.update(unquote(k) for k in real_keys(block))
        for block in doc.get("locals", []):
            m.locals.update(unquote(k) for k in real_keys(block))
        for kind, target in (("resource", m.resources), ("data", m.data)):
            for block in doc.get(kind, []):
                for rtype in real_keys(block):
                    for rname in real_keys(block[rtype]):
                        target.add(f"{unquote(rtype)}.{unquote(rname)}")
        for block in doc.get("module", []):
            for name in real_keys(block):
                m.calls[unquote(name)] = block[name]
    m.text = "\n".join(chunks)
    return m


def terraform_dirs() -> list[Path]:
    return sorted({p.parent for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts})


def cmd_parse() -> list[str]:
    errors = []
    files = sorted(p for p in INFRA.rglob("*") if p.suffix in (".tf", ".tfvars") and ".terraform" not in p.parts)
    for f in files:
        try:
            hcl2.loads(f.read_text(encoding="utf-8"))
        except Exception as e:  # python-hcl2 raises lark errors of several types
            errors.append(f"{f.relative_to(REPO)}: {str(e).splitlines()[0]}")
    if not files:
        errors.append("no .tf files found under infra/")
    return errors if errors else [f"ok:{len(files)} files"]


VAR_REF = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
LOCAL_REF = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
MODULE_REF = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([A-Za-z_][\w-]*)")
DATA_REF = re.compile(r"(?<![\w.])data\.([a-z][\w]*)\.([A-Za-z_][\w-]*)")
RESOURCE_REF = re.compile(r"(?<![\w.])((?:azurerm|azapi|random|time)_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


def cmd_modules() -> list[str]:
    dirs = {p: load_dir(p) for p in terraform_dirs()}
    errors: list[str] = []
    checked_calls = 0
    for path, m in dirs.items():
        where = m.rel()
        used_vars = set(VAR_REF.findall(m.text))
        for v in sorted(used_vars - set(m.variables)):
            errors.append(f"{where}: var.{v} is used but not declared")
        for v in sorted(set(m.variables) - used_vars):
            errors.append(f"{where}: variable \"{v}\" is declared but never used")
        for loc in sorted(set(LOCAL_REF.findall(m.text)) - m.locals):
            errors.append(f"{where}: local.{loc} is used but not defined")
        for rtype, rname in sorted(set(DATA_REF.findall(m.text))):
            if f"{rtype}.{rname}" not in m.data:
                errors.append(f"{where}: data.{rtype}.{rname} is referenced but not declared")
        for rtype, rname in sorted(set(RESOURCE_REF.findall(m.text))):
            if f"{rtype}.{rname}" not in m.resources:
                errors.append(f"{where}: {rtype}.{rname} is referenced but not declared here")
        for call, attr in sorted(set(MODULE_REF.findall(m.text))):
            if call not in m.calls:
                errors.append(f"{where}: module.{call}.{attr} refers to an undeclared module")
                continue
            target = dirs.get((path / unquote(m.calls[call]["source"])).resolve())
            if target is not None and attr not in target.outputs:
                errors.append(f"{where}: module.{call}.{attr}: output \"{attr}\" is not declared in {target.rel()}")
        for call, body in sorted(m.calls.items()):
            source = unquote(str(body.get("source", "")))
            if not source.startswith("."):
                errors.append(f"{where}: module \"{call}\" uses a non-local source {source!r}")
                continue
            target = dirs.get((path / source).resolve())
            if target is None:
                errors.append(f"{where}: module \"{call}\" source {source} has no .tf files")
                continue
            checked_calls += 1
            passed = {k for k in real_keys(body) if k not in META_ARGUMENTS}
            for arg in sorted(passed - set(target.variables)):
                errors.append(f"{where}: module \"{call}\" passes {arg}, not a variable of {target.rel()}")
            required = {v for v, req in target.variables.items() if req}
            for arg in sorted(required - passed):
                errors.append(f"{where}: module \"{call}\" omits required variable {arg} of {target.rel()}")
        for tfvars in sorted(path.glob("*.tfvars")):
            for key in real_keys(hcl2.loads(tfvars.read_text(encoding="utf-8"))):
                if unquote(key) not in m.variables:
                    errors.append(f"{tfvars.relative_to(REPO)}: {key} is not a variable of {where}")
    return errors if errors else [f"ok:{len(dirs)} directories, {checked_calls} module calls"]


def terraform_app_settings() -> tuple[set[str], list[str]]:
    """Keys the Function App gets: literal keys of local.app_settings plus provider-managed ones."""
    m = load_dir(FUNCTION_APP_MODULE)
    errors: list[str] = []
    keys: set[str] = set()
    found_local = False
    for doc in m.parsed.values():
        for block in doc.get("locals", []):
            if "app_settings" in block:
                found_local = True
                keys.update(unquote(k) for k in real_keys(block["app_settings"]))
    if not found_local:
        errors.append(f"{m.rel()}: no local.app_settings map found")
    app = None
    for doc in m.parsed.values():
        for block in doc.get("resource", []):
            for rtype in real_keys(block):
                if unquote(rtype) == "azurerm_function_app_flex_consumption":
                    app = block[rtype][real_keys(block[rtype])[0]]
    if app is None:
        errors.append(f"{m.rel()}: no azurerm_function_app_flex_consumption resource")
        return keys, errors
    if "local.all_app_settings" not in str(app.get("app_settings", "")):
        errors.append(f"{m.rel()}: the Function App's app_settings is not local.all_app_settings")
    if "local.app_settings" not in m.text.split("all_app_settings", 1)[-1]:
        errors.append(f"{m.rel()}: local.all_app_settings does not include local.app_settings")
    site_config = (app.get("site_config") or [{}])[0]
    if "application_insights_connection_string" in site_config:
        # The provider moves this key between app_settings and site_config; it is set there.
        keys.add("APPLICATIONINSIGHTS_CONNECTION_STRING")
    return keys, errors


SETTINGS_CONST = re.compile(r"pub\s+const\s+SETTINGS\s*:\s*&\[&str\]\s*=\s*&\[(.*?)\];", re.S)


def rust_settings() -> set[str]:
    """Keys listed in the `pub const SETTINGS` arrays of the crate's modules."""
    keys: set[str] = set()
    for rs in (REPO / "handlers").rglob("*.rs"):
        for body in SETTINGS_CONST.findall(rs.read_text(encoding="utf-8")):
            keys.update(re.findall(r'"([^"]+)"', re.sub(r"//[^\n]*", "", body)))
    return keys


def cmd_settings() -> list[str]:
    if not EXAMPLE_SETTINGS.exists():
        return [f"{EXAMPLE_SETTINGS.name} not found at the repository root"]
    try:
        values = json.loads(EXAMPLE_SETTINGS.read_text(encoding="utf-8"))["Values"]
    except (ValueError, KeyError, TypeError) as e:
        return [f"{EXAMPLE_SETTINGS.name}: not a Core Tools settings file ({e})"]
    example = set(values)
    read = example | rust_settings()
    tf, errors = terraform_app_settings()
    for key in sorted(read - tf - set(LOCAL_ONLY)):
        source = EXAMPLE_SETTINGS.name if key in example else "a SETTINGS const in handlers/"
        errors.append(f"{key} (in {source}) is not set by Terraform and not listed as local-only")
    for key in sorted(tf - read - set(PLATFORM_ONLY)):
        errors.append(f"{key} is set by Terraform but read by nothing (not in {EXAMPLE_SETTINGS.name})")
    for key in sorted(read - example):
        errors.append(f"{key} is read by the binary but missing from {EXAMPLE_SETTINGS.name}")
    if errors:
        return errors
    return [f"ok:{len(tf)} Terraform settings, {len(example)} example settings, {len(set(LOCAL_ONLY) & example)} local-only"]


# Built-in role definition IDs the Lighthouse delegation may grant (read-only roles).
LIGHTHOUSE_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "72fafb9e-0641-4937-9268-a91bfd8191a3": "Cost Management Reader",
    "43d0d8ad-25c7-4714-9337-8ba259a9fe05": "Monitoring Reader",
}
LIGHTHOUSE_TEMPLATE = INFRA / "lighthouse" / "azcops-delegation.json"


def cmd_lighthouse() -> list[str]:
    try:
        template = json.loads(LIGHTHOUSE_TEMPLATE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return [f"{LIGHTHOUSE_TEMPLATE.relative_to(REPO)}: {e}"]
    variables = template.get("variables", {})
    errors: list[str] = []
    definitions = [r for r in template.get("resources", []) if r.get("type") == "Microsoft.ManagedServices/registrationDefinitions"]
    if len(definitions) != 1:
        return [f"expected one registrationDefinitions resource, found {len(definitions)}"]
    granted = []
    for auth in definitions[0].get("properties", {}).get("authorizations", []):
        role = str(auth.get("roleDefinitionId", ""))
        ref = re.fullmatch(r"\[variables\('([^']+)'\)\]", role)
        if ref:
            role = str(variables.get(ref.group(1), ""))
        granted.append(role)
        if role not in LIGHTHOUSE_ROLES:
            errors.append(f"authorization grants role {role!r}, which is not one of the read roles {sorted(LIGHTHOUSE_ROLES.values())}")
        if "delegatedRoleDefinitionIds" in auth:
            errors.append("an authorization may delegate role assignment (delegatedRoleDefinitionIds)")
    missing = set(LIGHTHOUSE_ROLES) - set(granted)
    for role in sorted(missing):
        errors.append(f"{LIGHTHOUSE_ROLES[role]} ({role}) is not granted")
    if not any(r.get("type") == "Microsoft.ManagedServices/registrationAssignments" for r in template.get("resources", [])):
        errors.append("no registrationAssignments resource: the definition would never take effect")
    return errors if errors else [f"ok:{len(granted)} read-only authorizations"]


AZCOPS_MODULE = TERRAFORM / "modules" / "azcops"
POSTGRES_MODULE = TERRAFORM / "modules" / "postgres"
DEPLOY_WORKFLOW = REPO / ".github" / "workflows" / "deploy-environment.yml"
APP_ROLE_SQL = INFRA / "sql" / "app-role.sql"
PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
# References to the app's own identity (the one the binary runs as) in the azcops module.
APP_PRINCIPAL = "module.identity.principal_id"


def resources_of(m: ModuleDir, rtype: str) -> list[tuple[str, str, dict]]:
    """(file, name, body) of every resource of `rtype` in a module directory."""
    found = []
    for file, doc in m.parsed.items():
        for block in doc.get("resource", []):
            for t in real_keys(block):
                if unquote(t) == rtype:
                    for name in real_keys(block[t]):
                        found.append((file, unquote(name), block[t][name]))
    return found


def list_local(m: ModuleDir, name: str) -> list[str] | None:
    for doc in m.parsed.values():
        for block in doc.get("locals", []):
            if name in block and isinstance(block[name], list):
                return [unquote(str(v)) for v in block[name]]
    return None


def containers_of(m: ModuleDir, body: dict) -> list[str] | None:
    """Container names a role assignment's scope covers, or None when it is not a container."""
    scope = str(body.get("scope", ""))
    literal = re.search(r'container_ids\[\\?"([^"\\]+)\\?"\]', scope)
    if literal:
        return [literal.group(1)]
    if "container_ids[each.value]" in scope or "container_ids[each.key]" in scope:
        ref = LOCAL_REF.search(str(body.get("for_each", "")))
        values = list_local(m, ref.group(1)) if ref else None
        return values if values is not None else ["<unresolved for_each>"]
    return None


def check_storage_roles(errors: list[str]):
    dirs = [load_dir(p) for p in terraform_dirs()]
    azcops = next((m for m in dirs if m.path == AZCOPS_MODULE), None)
    for m in dirs:
        for file, name, body in resources_of(m, "azurerm_role_assignment"):
            role = unquote(str(body.get("role_definition_name", "")))
            where = f"{m.rel()}/{file}: azurerm_role_assignment.{name}"
            if not role.startswith("Storage Blob Data"):
                continue
            if role == "Storage Blob Data Owner":
                errors.append(f"{where} grants Storage Blob Data Owner: grant Contributor or Reader on the containers the principal uses")
            containers = containers_of(m, body)
            if containers is None:
                errors.append(f"{where} grants {role} on {body.get('scope')}: blob data roles must be scoped to containers (module.storage.container_ids[...]), never the account")
                continue
            principal = str(body.get("principal_id", ""))
            if APP_PRINCIPAL in principal and "deployment" in containers and role != "Storage Blob Data Reader":
                errors.append(f"{where} grants the app identity {role} on the deployment container: the app must not be able to write its own package")
            if "<unresolved for_each>" in containers:
                errors.append(f"{where}: cannot resolve the containers of its for_each (use toset(local.<list>))")
    if azcops is None:
        errors.append(f"{AZCOPS_MODULE.relative_to(REPO)} not found")
        return
    app_call = azcops.calls.get("function_app", {})
    deployment = str(app_call.get("deployment_identity_id", ""))
    if not deployment or deployment == str(app_call.get("identity_id", "")) or "module.identity.id" in deployment:
        errors.append(f"{azcops.rel()}: module function_app must get a deployment_identity_id other than the app identity (got {deployment or 'none'}); the deployment storage identity can write the package")
    fa = load_dir(FUNCTION_APP_MODULE)
    for file, name, body in resources_of(fa, "azurerm_function_app_flex_consumption"):
        if str(body.get("storage_user_assigned_identity_id", "")) != "${var.deployment_identity_id}":
            errors.append(f"{fa.rel()}/{file}: {name}.storage_user_assigned_identity_id must be var.deployment_identity_id")


def check_postgres_admin(errors: list[str]):
    pg = load_dir(POSTGRES_MODULE)
    admins = resources_of(pg, "azurerm_postgresql_flexible_server_active_directory_administrator")
    if not admins:
        errors.append(f"{pg.rel()}: no Entra administrator resource")
    for file, name, body in admins:
        ref = f"{body.get('object_id', '')} {body.get('principal_name', '')}"
        if "app_identity" in ref:
            errors.append(f"{pg.rel()}/{file}: {name} makes the app identity a PostgreSQL administrator; the app logs in as a DML-only role")
    azcops = load_dir(AZCOPS_MODULE)
    call = azcops.calls.get("postgres", {})
    admin = str(call.get("admin_principal", ""))
    if not admin:
        errors.append(f"{azcops.rel()}: module postgres gets no admin_principal")
    elif "module.identity" in admin:
        errors.append(f"{azcops.rel()}: module postgres admin_principal is the app identity ({admin}); the app must not be the PostgreSQL administrator")


def check_authority(errors: list[str]):
    fa = load_dir(FUNCTION_APP_MODULE)
    defaults = {}
    for doc in fa.parsed.values():
        for block in doc.get("variable", []):
            for name in real_keys(block):
                if unquote(name) != "auth":
                    continue
                t = str(block[name].get("type", ""))
                for key in ("authority", "jwks_url"):
                    found = re.search(key + r'\s*=\s*optional\(\s*string\s*,\s*\\?"([^"\\]+)\\?"', t)
                    defaults[key] = found.group(1) if found else None
    if defaults.get("authority") != PUBLIC_AUTHORITY:
        errors.append(f"{fa.rel()}: the default AZCOPS_AUTH_AUTHORITY (auth.authority) is {defaults.get('authority')!r}, not {PUBLIC_AUTHORITY!r}: any other default makes the API refuse every token")
    if not str(defaults.get("jwks_url") or "").startswith("https://"):
        errors.append(f"{fa.rel()}: the default AZCOPS_AUTH_JWKS_URL (auth.jwks_url) is {defaults.get('jwks_url')!r}, not an https URL")


def workflow_jobs(text: str) -> dict[str, str]:
    """Top-level jobs of a workflow file: name -> its text (indentation-based, no YAML parser)."""
    body = text.split("\njobs:\n", 1)[-1] if "\njobs:\n" in text else ""
    jobs: dict[str, str] = {}
    current = None
    for line in body.splitlines():
        head = re.match(r"^  ([A-Za-z_][\w-]*):\s*$", line)
        if head:
            current = head.group(1)
            jobs[current] = ""
        elif current and (line.startswith("   ") or not line.strip()):
            jobs[current] += line + "\n"
        elif line.strip() and not line.startswith(" "):
            break
    return jobs


def check_pipeline(errors: list[str]):
    if not APP_ROLE_SQL.exists():
        errors.append(f"{APP_ROLE_SQL.relative_to(REPO)} is missing: nothing grants the app role its DML rights")
    if not DEPLOY_WORKFLOW.exists():
        errors.append(f"{DEPLOY_WORKFLOW.relative_to(REPO)} is missing")
        return
    jobs = workflow_jobs(DEPLOY_WORKFLOW.read_text(encoding="utf-8"))
    migrate = [n for n, t in jobs.items() if "azcops migrate" in t or "./azcops migrate" in t]
    deploy = [n for n, t in jobs.items() if "config-zip" in t]
    where = DEPLOY_WORKFLOW.relative_to(REPO)
    if len(migrate) != 1:
        errors.append(f"{where}: expected one job running `azcops migrate`, found {migrate}")
        return
    job = jobs[migrate[0]]
    if "infra/sql/app-role.sql" not in job:
        errors.append(f"{where}: job {migrate[0]} does not apply infra/sql/app-role.sql after the migrations")
    elif job.index("infra/sql/app-role.sql") < job.index("azcops migrate"):
        errors.append(f"{where}: job {migrate[0]} applies infra/sql/app-role.sql before `azcops migrate`")
    if "vars.AZCOPS_DB_ADMIN_CLIENT_ID" not in job or "vars.AZURE_CLIENT_ID" in job:
        errors.append(f"{where}: job {migrate[0]} must sign in as the PostgreSQL administrator (vars.AZCOPS_DB_ADMIN_CLIENT_ID) only")
    for name in deploy:
        needs = re.search(r"^    needs:\s*(\[[^\]]*\]|\S+)", jobs[name], re.M)
        if not needs or migrate[0] not in needs.group(1):
            errors.append(f"{where}: job {name} deploys the package without needing {migrate[0]}: the schema must be migrated and granted first")
    if not deploy:
        errors.append(f"{where}: no job deploys the package (config-zip)")


def cmd_privilege() -> list[str]:
    errors: list[str] = []
    check_storage_roles(errors)
    check_postgres_admin(errors)
    check_authority(errors)
    check_pipeline(errors)
    return errors if errors else ["ok:blob roles on containers only, none on the deployment container for the app, app identity not the PostgreSQL administrator, public authority by default, migrations by the admin before deployment"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["parse", "modules", "settings", "lighthouse", "privilege"])
    args = parser.parse_args()
    checks = {
        "parse": cmd_parse,
        "modules": cmd_modules,
        "settings": cmd_settings,
        "lighthouse": cmd_lighthouse,
        "privilege": cmd_privilege,
    }
    result = checks[args.check]()
    if len(result) == 1 and result[0].startswith("ok:"):
        print(f"PASS {args.check}: {result[0][3:]}")
        return 0
    for line in result:
        print(f"  {line}")
    print(f"FAIL {args.check}: {len(result)} problem(s)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
