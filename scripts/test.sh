#!/usr/bin/env bash
# Runs every test backstop has, on a fresh machine too: it first installs what the
# tests drive for real (zsh and fish for the shell-agreement tests, sqlite3, a
# PostgreSQL and a MariaDB server for the backup recipes, restic and rclone for remote
# copies, fdisk and e2fsprogs for a two-partition loop disk, rsyslog as the collector
# audit records are forwarded to), then checks formatting and lints,
# cross-builds the binary for Windows, then runs the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each entry: a command that proves the tool is there, then the Debian package
# that provides it. PostgreSQL's server binaries are off PATH on Debian.
checks=(
  "command -v zsh" zsh
  "command -v fish" fish
  "command -v sqlite3" sqlite3
  "command -v initdb || ls /usr/lib/postgresql/*/bin/initdb" postgresql
  "command -v iconv" libc-bin
  "command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd" mariadb-server
  "command -v mysql && command -v mysqldump && command -v mysqladmin && command -v mariadb" mariadb-client
  "command -v redis-server" redis-server
  "command -v redis-cli" redis-tools
  "command -v python3" python3
  "command -v shellcheck" shellcheck
  "command -v git" git
  "command -v npm" npm
  "command -v make" make
  "command -v x86_64-w64-mingw32-gcc" gcc-mingw-w64-x86-64
  "command -v restic" restic
  "command -v rclone" rclone
  "command -v sfdisk" fdisk
  "command -v mkfs.ext4" e2fsprogs
  "command -v losetup" mount
  "command -v partx" util-linux
  "command -v rsyslogd || ls /usr/sbin/rsyslogd" rsyslog
)
missing=()
for ((i = 0; i < ${#checks[@]}; i += 2)); do
  bash -c "${checks[i]}" >/dev/null 2>&1 || missing+=("${checks[i + 1]}")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq
    export DEBIAN_FRONTEND=noninteractive
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      # The tests start their own servers; Debian would also create and start a
      # "main" cluster on port 5432 that nothing here stops.
      apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
      sed -ri 's/^#? *create_main_cluster *=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
    fi
    made_policy_rc=
    if [[ " ${missing[*]} " =~ " "(mariadb-server|rsyslog)" " ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
      # Without systemd, postinst would start a system MariaDB (or rsyslogd) that nothing
      # stops; 101 forbids it. The tests start their own.
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      made_policy_rc=1
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$made_policy_rc" ]; then
      rm -f /usr/sbin/policy-rc.d
      trap - EXIT
    fi
  else
    echo "test.sh: ${missing[*]} missing and not root; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
# nushell is no Debian package; the npm registry carries its release binary. It goes
# under target/ (git-ignored), pinned to the version the nu plugin is built against.
nu_version=0.115.1
nu_dir="$PWD/target/nushell"
nu_bin="$nu_dir/node_modules/@nushell/linux-x64/bin/nu"
if [ "$("$nu_bin" --version 2>/dev/null)" != "$nu_version" ]; then
  echo "test.sh: installing nushell $nu_version into $nu_dir"
  mkdir -p "$nu_dir"
  npm install --prefix "$nu_dir" --no-audit --no-fund --loglevel=error "@nushell/linux-x64@$nu_version" >/dev/null
fi
export BACKSTOP_NU="$nu_bin"
# The tests that drive real shells and services must not skip here: they were just installed.
export BACKSTOP_REQUIRE_SHELLS=1
export BACKSTOP_REQUIRE_SERVICES=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

# Windows: every cfg(windows) path must compile and link, so the binary is cross-built
# (Debian's mingw-w64 links it) and linted for x86_64-pc-windows-gnu. Nothing here can
# run it (see docs/windows.md). Only the backstop package: the nushell plugin
# is not for Windows here. Where the target cannot be added, say so and go on.
win_target=x86_64-pc-windows-gnu
win_std_present() {
  compgen -G "$(rustc --print target-libdir --target "$win_target" 2>/dev/null)/libstd-*.rlib" >/dev/null
}
win_skip=
if ! win_std_present; then
  if ! command -v rustup >/dev/null 2>&1; then
    win_skip="rustup is not installed and rustc has no standard library for $win_target"
  elif ! rustup target add "$win_target"; then
    win_skip="\`rustup target add $win_target\` failed (see above)"
  elif ! win_std_present; then
    win_skip="rustc still has no standard library for $win_target after rustup added it"
  fi
fi
if [ -n "$win_skip" ]; then
  echo "test.sh: SKIPPED the Windows build ($win_target): $win_skip; cfg(windows) code was not compiled" >&2
else
  echo "test.sh: cross-building backstop for $win_target"
  cargo build -p backstop --target "$win_target" --locked
  cargo clippy -p backstop --target "$win_target" --locked -- -D warnings
fi
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

# Coverage-guided fuzzing, a few seconds a target: the fuzz crate must build and no
# target may fail on its seeds or what it finds in that time. scripts/fuzz.sh installs
# the nightly toolchain and cargo-fuzz when they are missing (docs/reliability.md).
scripts/fuzz.sh --smoke 5
