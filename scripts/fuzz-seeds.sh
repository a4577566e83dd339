#!/usr/bin/env bash
# Writes the fuzz targets' seed inputs into fuzz/seeds/TARGET/ (git-ignored): from the
# project's tests and built-in packs, and from the shared corpora of labelled command
# lines when they are there ($BACKSTOP_CORPORA, else ../shared/corpora or
# /work/shared/corpora). They are read, never copied into the repository.
# Usage: scripts/fuzz-seeds.sh [--max N]   (N seeds a target at most, for a short run)
set -euo pipefail
cd "$(dirname "$0")/.."

corpora=${BACKSTOP_CORPORA:-}
if [ -z "$corpora" ]; then
  for d in ../shared/corpora /work/shared/corpora; do
    if [ -d "$d" ]; then
      corpora=$d
      break
    fi
  done
fi
args=(fuzz/seeds "$@")
if [ -n "$corpora" ]; then
  args+=(--corpora "$corpora")
else
  echo "fuzz-seeds.sh: no shared corpora found; seeding from the tests alone" >&2
fi
rm -rf fuzz/seeds
cargo run --quiet --locked --example fuzz-seeds -- "${args[@]}"
