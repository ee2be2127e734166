#!/usr/bin/env bash
# Offline checks of infra/: HCL parses, formatting, checkov, module consistency, app settings
# against local.settings.json.example, the least-privilege rules, and the alerts/workbook against the
# metrics the handler emits. Installs its tools on first run (into target/infra-tools,
# or $AZCOPS_INFRA_TOOLS) and reuses them afterwards. Prints PASS/FAIL per check; exits non-zero
# if any check fails. Terraform itself cannot be installed from the reachable registries, so
# provider-schema validation (terraform validate/plan) runs in the pipeline instead.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="${AZCOPS_INFRA_TOOLS:-$ROOT/target/infra-tools}"
HCL2_VERSION="8.1.4"
CHECKOV_VERSION="3.3.30"

mkdir -p "$TOOLS/bin"
log() { echo "check-infra: $*" >&2; }

apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    # Hosted CI runners are not root but have passwordless sudo.
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
  fi
  if ! command -v apt-get >/dev/null 2>&1 || { [ "$(id -u)" != 0 ] && [ -z "$sudo" ]; }; then
    log "cannot install $* (needs apt-get as root)"
    return 1
  fi
  if [ ! -f "$TOOLS/.apt-updated" ]; then
    $sudo apt-get update -qq >/dev/null && touch "$TOOLS/.apt-updated"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A venv per tool: checkov pins bc-python-hcl2, which installs the same `hcl2` module as python-hcl2.
make_venv() { # dir, pip requirement
  local dir="$1" req="$2"
  if [ -x "$dir/bin/python" ] && "$dir/bin/pip" show -q "${req%%==*}" >/dev/null 2>&1 \
    && [ "$("$dir/bin/pip" show "${req%%==*}" 2>/dev/null | awk '/^Version:/{print $2}')" = "${req##*==}" ]; then
    return 0
  fi
  log "installing $req into ${dir#"$ROOT"/}"
  if ! python3 -m venv "$dir" >/dev/null 2>&1; then
    rm -rf "$dir"
    apt_install python3-venv python3-pip || return 1
    python3 -m venv "$dir" || return 1
  fi
  "$dir/bin/pip" install -q --disable-pip-version-check "$req" >/dev/null || return 1
}

ensure_hclfmt() {
  if command -v hclfmt >/dev/null 2>&1; then
    HCLFMT="$(command -v hclfmt)"
    return 0
  fi
  HCLFMT="$TOOLS/bin/hclfmt"
  [ -x "$HCLFMT" ] && return 0
  log "building hclfmt from Debian's Go packages"
  if ! command -v go >/dev/null 2>&1 || [ ! -d /usr/share/gocode/src/github.com/hashicorp/hcl/v2 ]; then
    apt_install golang-go golang-github-hashicorp-hcl-v2-dev || return 1
  fi
  GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$TOOLS/gocache" \
    go build -o "$HCLFMT" github.com/hashicorp/hcl/v2/cmd/hclfmt
}

passed=0
failed=0
result() { # name, status, detail
  if [ "$2" = 0 ]; then
    echo "PASS $1${3:+: $3}"
    passed=$((passed + 1))
  else
    echo "FAIL $1${3:+: $3}"
    failed=$((failed + 1))
  fi
}

if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 python3-venv || { echo "FAIL install python3"; exit 1; }
fi

HCL2_VENV="$TOOLS/venv-hcl2"
CHECKOV_VENV="$TOOLS/venv-checkov"
tools_ok=0
make_venv "$HCL2_VENV" "python-hcl2==$HCL2_VERSION" || { result "install python-hcl2" 1; tools_ok=1; }
make_venv "$CHECKOV_VENV" "checkov==$CHECKOV_VERSION" || { result "install checkov" 1; tools_ok=1; }
ensure_hclfmt || { result "install hclfmt" 1; tools_ok=1; }
[ "$tools_ok" = 0 ] || { # 9. The alert rules and the workbook parse and query only what the handler emits (tables,
#    metric names in handlers/insights/metrics.rs, functions, logged messages); the checker's own
#    self-test proves it catches each kind of stray reference.
"$HCL2_VENV/bin/python" infra/scripts/telemetrycheck.py
result telemetry $? >/dev/null
telemetry_selftest="$("$HCL2_VENV/bin/python" infra/scripts/telemetrycheck.py --self-test 2>&1)"
rc=$?
[ $rc -eq 0 ] || printf '%s\n' "$telemetry_selftest" | grep -v '^ok ' | sed 's/^/  /'
result "telemetrycheck self-test" $rc "$(printf '%s\n' "$telemetry_selftest" | tail -n1 | sed 's/^telemetrycheck self-test: //')"

echo "check-infra: $passed passed, $failed failed"; exit 1; }

mapfile -t HCL_FILES < <(find infra -type f \( -name '*.tf' -o -name '*.tfvars' \) -not -path '*/.terraform/*' | sort)

# 1. Every .tf / .tfvars parses.
"$HCL2_VENV/bin/python" infra/scripts/tfcheck.py parse
result parse $? >/dev/null # tfcheck.py prints the PASS/FAIL line itself

# 2. Canonical formatting (what `terraform fmt -check` enforces).
unformatted=()
for f in "${HCL_FILES[@]}"; do
  "$HCLFMT" -require-no-change "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ "${#unformatted[@]}" -eq 0 ]; then
  result hclfmt 0 "${#HCL_FILES[@]} files formatted"
else
  printf '  not formatted (run hclfmt -w FILE): %s\n' "${unformatted[@]}"
  result hclfmt 1 "${#unformatted[@]} file(s) not formatted"
fi

# 3. checkov: Terraform and the Lighthouse ARM template, then the workflows. Waivers are in code
#    as #checkov:skip=ID:reason next to the resource.
checkov_run() { # label, args...
  local label="$1" out
  shift
  out="$(BC_SKIP_MAPPING=TRUE "$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact "$@" 2>&1)"
  local rc=$?
  local summary
  summary="$(printf '%s\n' "$out" | grep -E 'Passed checks' | sed 's/^ *//' | paste -sd';' -)"
  if [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | grep -E '^Check:|FAILED for|File:' | sed 's/^/  /'
  fi
  result "$label" $rc "${summary:-no findings}"
}
checkov_run "checkov infra" -d infra --framework terraform arm
if [ -d .github/workflows ]; then
  checkov_run "checkov workflows" -d .github/workflows --framework github_actions
fi

# 4. Module variables / outputs / references.
"$HCL2_VENV/bin/python" infra/scripts/tfcheck.py modules
result modules $? >/dev/null

# 5. App settings set by Terraform vs local.settings.json.example.
"$HCL2_VENV/bin/python" infra/scripts/tfcheck.py settings
result settings $? >/dev/null

# 6. The Lighthouse delegation grants exactly Reader, Cost Management Reader, Monitoring Reader.
"$HCL2_VENV/bin/python" infra/scripts/tfcheck.py lighthouse
result lighthouse $? >/dev/null

# 7. Least privilege: blob data roles only on containers (never Blob Data Owner, never the account),
#    no app role on the deployment container and a separate deployment storage identity, the app
#    identity not the PostgreSQL administrator, the public authority as AZCOPS_AUTH_AUTHORITY's
#    default, and the pipeline migrating + granting (infra/sql/app-role.sql) as the administrator
#    before the package is deployed.
"$HCL2_VENV/bin/python" infra/scripts/tfcheck.py privilege
result privilege $? >/dev/null

# 8. The consistency checks themselves catch each kind of defect (mutations of a scratch copy).
selftest="$("$HCL2_VENV/bin/python" infra/scripts/test_tfcheck.py 2>&1)"
rc=$?
[ $rc -eq 0 ] || printf '%s\n' "$selftest" | grep -v '^ok ' | sed 's/^/  /'
result "tfcheck self-test" $rc "$(printf '%s\n' "$selftest" | tail -n1 | sed 's/^tfcheck self-test: //')"

echo "check-infra: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
