#!/usr/bin/env bash
# Install the tools scripts/bench-check.sh needs, skipping what is already there:
#   - hyperfine (Debian package; falls back to `cargo install hyperfine --locked`)
#   - shellfirm 0.4.1 exactly (`cargo install shellfirm --version 0.4.1`), the
#     comparator named in the speed requirement.
#
# Idempotent: safe to run again. shellfirm compiles for ~5 minutes on a 2-core
# machine; it builds in its own target dir (SHELLFIRM_TARGET_DIR, default
# /tmp/shellfirm-target) so it never shares or dirties the project's target/.
#
# Usage: scripts/install-bench-tools.sh [--no-shellfirm]
set -euo pipefail

SHELLFIRM_VERSION="0.4.1"
SHELLFIRM_TARGET_DIR="${SHELLFIRM_TARGET_DIR:-/tmp/shellfirm-target}"
want_shellfirm=1

for arg in "$@"; do
    case "$arg" in
        --no-shellfirm) want_shellfirm=0 ;;
        -h|--help)
            awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' "$0"
            exit 0
            ;;
        *)
            echo "install-bench-tools: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

log() { printf 'install-bench-tools: %s\n' "$*" >&2; }

# cargo-installed binaries live here; make them visible to the checks below.
if [ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

# ---------------------------------------------------------------- hyperfine
if command -v hyperfine >/dev/null 2>&1; then
    log "hyperfine present: $(hyperfine --version)"
else
    installed=0
    if command -v apt-get >/dev/null 2>&1; then
        log "installing hyperfine with apt-get"
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine; then
            installed=1
        else
            log "apt-get could not install hyperfine; trying cargo"
        fi
    fi
    if [ "$installed" -eq 0 ]; then
        command -v cargo >/dev/null 2>&1 || { log "neither apt-get nor cargo can install hyperfine"; exit 1; }
        log "installing hyperfine with cargo"
        CARGO_TARGET_DIR="${HYPERFINE_TARGET_DIR:-/tmp/hyperfine-target}" \
            cargo install hyperfine --locked
    fi
    log "hyperfine installed: $(hyperfine --version)"
fi

# ---------------------------------------------------------------- shellfirm
if [ "$want_shellfirm" -eq 1 ]; then
    current=""
    if command -v shellfirm >/dev/null 2>&1; then
        current="$(shellfirm --version 2>/dev/null | awk '{print $2}' || true)"
    fi
    if [ "$current" = "$SHELLFIRM_VERSION" ]; then
        log "shellfirm present: $SHELLFIRM_VERSION"
    else
        command -v cargo >/dev/null 2>&1 || { log "cargo is needed to install shellfirm"; exit 1; }
        if [ -n "$current" ]; then
            log "shellfirm $current found; replacing it with $SHELLFIRM_VERSION"
        fi
        log "installing shellfirm $SHELLFIRM_VERSION (compiles for several minutes) in $SHELLFIRM_TARGET_DIR"
        start=$(date +%s)
        if ! CARGO_TARGET_DIR="$SHELLFIRM_TARGET_DIR" \
            cargo install shellfirm --version "=$SHELLFIRM_VERSION" --locked --force; then
            log "--locked install failed; retrying without --locked"
            CARGO_TARGET_DIR="$SHELLFIRM_TARGET_DIR" \
                cargo install shellfirm --version "=$SHELLFIRM_VERSION" --force
        fi
        log "shellfirm installed in $(( $(date +%s) - start ))s: $(shellfirm --version)"
    fi
fi
