#!/usr/bin/env bash
# What `backstop wrap` adds, measured side by side with the client alone:
#   - a keystroke: from writing one key to the terminal until its echo comes back;
#   - a statement: from Enter on `SELECT 1;` until the client's next prompt;
#   - and, for comparison, `backstop check` deciding the same statement as a
#     one-shot command line (what `wrap` does in-process before passing Enter on).
# The client is sqlite3 on a file outside /tmp; each case alternates runs of the
# two setups so that a noisy machine weighs on both alike.
#
# Usage: scripts/bench-wrap.sh [path/to/backstop]   (default: target/release/backstop)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/backstop}"
[ -x "$bin" ] || { echo "bench-wrap: build it first: cargo build --release" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench-wrap: sqlite3 is needed (apt-get install sqlite3)" >&2; exit 1; }
work="$(mktemp -d "$HOME/backstop-bench-wrap.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export BACKSTOP_HOME="$work/state"
sqlite3 "$work/app.db" 'CREATE TABLE t (a); INSERT INTO t VALUES (1);'

python3 - "$bin" "$work/app.db" <<'PY'
import os, pty, select, statistics, subprocess, sys, time

backstop, db = os.path.abspath(sys.argv[1]), sys.argv[2]
KEYS, STATEMENTS, CHECKS = 400, 60, 60

def spawn(argv):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execvp(argv[0], argv)
    return pid, fd

def read_until(fd, needle, buf=b"", timeout=10):
    end = time.monotonic() + timeout
    while needle not in buf:
        left = end - time.monotonic()
        if left <= 0:
            raise SystemExit(f"bench-wrap: no {needle!r} within {timeout}s; got {buf[-200:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            buf += os.read(fd, 65536)
    return buf

def session(argv):
    pid, fd = spawn(argv)
    read_until(fd, b"sqlite> ")
    time.sleep(0.3)
    return pid, fd

def keystroke(fd):
    t = time.perf_counter()
    os.write(fd, b"x")
    read_until(fd, b"x")
    return time.perf_counter() - t

def statement(fd):
    # Typed, then Enter a little later, as a person does: Enter alone is timed.
    os.write(fd, b"SELECT 1;")
    read_until(fd, b"SELECT 1;")
    time.sleep(0.04)
    t = time.perf_counter()
    os.write(fd, b"\r")
    read_until(fd, b"sqlite> ")
    return time.perf_counter() - t

def pasted(fd):
    # A pasted line: the statement and its Enter arrive at once.
    t = time.perf_counter()
    os.write(fd, b"SELECT 2;\r")
    read_until(fd, b"sqlite> ")
    return time.perf_counter() - t

def clear_line(fd):
    os.write(fd, b"\x15")
    time.sleep(0.05)
    while select.select([fd], [], [], 0.05)[0]:
        os.read(fd, 65536)

alone = session(["sqlite3", db])
wrapped = session([backstop, "wrap", "sqlite3", db])
results = {}
for name, fn, n in (("keystroke", keystroke, KEYS), ("statement", statement, STATEMENTS), ("pasted statement", pasted, STATEMENTS)):
    times = {"sqlite3": [], "backstop wrap sqlite3": []}
    for i in range(n):
        for label, (_, fd) in (("sqlite3", alone), ("backstop wrap sqlite3", wrapped)):
            times[label].append(fn(fd))
            # Keys come further apart than a person types them fastest (~30 ms).
            time.sleep(0.035 if name == "keystroke" else 0.05)
        if name == "keystroke" and i % 40 == 39:
            for _, fd in (alone, wrapped):
                clear_line(fd)
    results[name] = times
    for _, fd in (alone, wrapped):
        clear_line(fd)

check = []
line = f"sqlite3 {db} 'SELECT 1;'"
for _ in range(CHECKS):
    t = time.perf_counter()
    subprocess.run([backstop, "check", line], check=False, stdout=subprocess.DEVNULL)
    check.append(time.perf_counter() - t)

def ms(v):
    return f"{v * 1000:8.3f}"

print(f"{'what':<40}{'median ms':>10}{'p90 ms':>10}{'runs':>6}")
for name, times in results.items():
    for label, t in times.items():
        q = statistics.quantiles(t, n=10)
        print(f"{name + ': ' + label:<40}{ms(statistics.median(t)):>10}{ms(q[8]):>10}{len(t):>6}")
    added = statistics.median(times["backstop wrap sqlite3"]) - statistics.median(times["sqlite3"])
    print(f"{name + ': added by wrap':<40}{ms(added):>10}")
q = statistics.quantiles(check, n=10)
print(f"{'backstop check (whole process)':<40}{ms(statistics.median(check)):>10}{ms(q[8]):>10}{len(check):>6}")
PY
