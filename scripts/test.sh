#!/usr/bin/env bash
# Runs every test backstop has, on a fresh machine too: it first installs what the
# tests drive for real (zsh and fish for the shell-agreement tests), then checks
# formatting and lints, then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in zsh fish; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "test.sh: ${missing[*]} missing and not root; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
# The tests that drive real shells must not skip here: they were just installed.
export BACKSTOP_REQUIRE_SHELLS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
