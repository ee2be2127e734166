#!/usr/bin/env bash
# Builds the Flex Consumption deployment package dist/azcops.zip: the release binary for Linux
# x86-64 (static musl when the x86_64-unknown-linux-musl target is installed and builds, else
# glibc, whose minimum version is printed), host.json and one folder per function. Checks the
# layout (scripts/package.py) and prints the binary's and the zip's sizes.
#
# Environment: CARGO_TARGET_DIR (honoured), AZCOPS_PACKAGE_TARGET=auto|musl|gnu (default auto;
# musl fails instead of falling back), PACKAGE_ZIP (output, default dist/azcops.zip),
# SOURCE_DATE_EPOCH (entry timestamps).
set -euo pipefail
cd "$(dirname "$0")/.."

MUSL=x86_64-unknown-linux-musl
MODE="${AZCOPS_PACKAGE_TARGET:-auto}"
OUT="${PACKAGE_ZIP:-dist/azcops.zip}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }
die() { echo "package.sh: $*" >&2; exit 1; }

case "$MODE" in auto | musl | gnu) ;; *) die "AZCOPS_PACKAGE_TARGET must be auto, musl or gnu, not '$MODE'" ;; esac
if [[ "$(uname -m)" != x86_64 ]]; then
    die "this script builds on x86-64 Linux only (found $(uname -m))"
fi

musl_installed() {
    command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$MUSL"
}

BINARY=""
if [[ "$MODE" == musl ]] || { [[ "$MODE" == auto ]] && musl_installed; }; then
    step "cargo build --release --target $MUSL"
    if cargo build --release --locked --bin azcops --target "$MUSL"; then
        BINARY="$TARGET_DIR/$MUSL/release/azcops"
    elif [[ "$MODE" == musl ]]; then
        die "the static musl build failed"
    else
        echo "package.sh: WARNING: the static musl build failed; packaging the glibc build instead" >&2
    fi
elif [[ "$MODE" == auto ]]; then
    echo "package.sh: the $MUSL target is not installed; packaging the glibc build" >&2
fi
if [[ -z "$BINARY" ]]; then
    step "cargo build --release (glibc)"
    cargo build --release --locked --bin azcops
    BINARY="$TARGET_DIR/release/azcops"
fi
[[ -x "$BINARY" ]] || die "no executable at $BINARY"

step "Binary"
"$PYTHON" scripts/package.py elf "$BINARY"
echo "binary: $BINARY ($(stat -c %s "$BINARY") bytes)"

step "Package"
"$PYTHON" scripts/package.py zip "$BINARY" "$OUT"
echo "package: $OUT ($(stat -c %s "$OUT") bytes)"
