#!/bin/bash
# The 500 x 30 run, this tree's served mock against a base commit's, alternated rounds.
#
#     bench/twin_ab.sh [BASE_REV (5e2ec3e)] [ROUNDS (10)] [CUSTOMERS (500)] [DAYS (30)]
#
# Each round serves each tree's mock (`mock-core serve`, default settings, the access
# log to a file, a fresh SQLite store) and runs the SAME twin (the base's) against it:
# `twin run steady-state --quiet --no-inspect`, seed 42; the order flips every round.
# Per run: the twin's wall seconds and simulate phase, the server's user and system CPU
# (/proc/PID/stat) and its write syscalls and bytes (/proc/PID/io), the p99 of the
# twin's PostEntry latency, and the state digest (both trees must end in the same
# state). Prints one line per run and, at the end, the median per-round ratio new/base
# of each figure. Wall and CPU time move by +-25% with this shared machine's load;
# `python -m bench.instructions --twin 500x8` counts the server's instructions
# instead, which do not.
set -euo pipefail
BASE=${1:-5e2ec3e}; ROUNDS=${2:-10}; C=${3:-500}; D=${4:-30}
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$HERE/.venv/bin/python}
WORK=$(mktemp -d /tmp/twin-ab.XXXXXX)
trap 'git -C "$HERE" worktree remove --force "$WORK/base" >/dev/null 2>&1 || true' EXIT
git -C "$HERE" worktree add --detach "$WORK/base" "$BASE" >/dev/null 2>&1
declare -A TREE=([base]="$WORK/base" [new]="$HERE")
for v in base new; do  # each tree's spec and scenarios under the installed packages' names
  mkdir -p "$WORK/$v-shim"
  ln -s "${TREE[$v]}/openapi" "$WORK/$v-shim/turingcore_contract"
  ln -s "${TREE[$v]}/config" "$WORK/$v-shim/turingcore_scenarios"
done
field() { awk -v k="$1" '$1 == k":" {print $2}' "$2"; }
one_run() {  # one_run VARIANT OUT: one line of figures
  local v=$1 out=$2 port sp
  rm -rf "$out"; mkdir -p "$out"
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "${TREE[$v]}" && exec env -u MOCK_CORE_DATABASE_URL PYTHONPATH="${TREE[$v]}:$WORK/$v-shim" \
     "$PY" -m mock_core serve --port "$port" --database-url "sqlite:///$out/mock.db" \
     >"$out/access.log" 2>&1) &
  sp=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  cp "/proc/$sp/io" "$out/io0"; read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$sp/stat")
  local t0 t1; t0=$(date +%s.%N)
  (cd "$WORK/base" && PYTHONPATH="$WORK/base:$WORK/base-shim" "$PY" -m twin run steady-state \
     --customers "$C" --days "$D" --base-url "http://127.0.0.1:$port" --quiet --no-inspect \
     --output "$out/twin" >"$out/twin.log" 2>&1)
  t1=$(date +%s.%N)
  cp "/proc/$sp/io" "$out/io1"; read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$sp/stat")
  kill "$sp"; wait 2>/dev/null || true
  "$PY" - "$v" "$out" "$t0" "$t1" "$u0" "$s0" "$u1" "$s1" \
    "$(field syscw "$out/io0")" "$(field syscw "$out/io1")" \
    "$(field write_bytes "$out/io0")" "$(field write_bytes "$out/io1")" <<'PYEOF'
import json, sys
v, out, t0, t1, u0, s0, u1, s1, c0, c1, w0, w1 = sys.argv[1:]
s = json.load(open(f"{out}/twin/summary.json"))
tick = 100  # USER_HZ
print(json.dumps({"tree": v, "wall_s": round(float(t1) - float(t0), 2),
    "simulate_s": s["phases"]["simulate"]["wall_s"],
    "server_user_s": (int(u1) - int(u0)) / tick, "server_sys_s": (int(s1) - int(s0)) / tick,
    "write_syscalls": int(c1) - int(c0), "write_mb": round((int(w1) - int(w0)) / 2**20),
    "postentry_p99_ms": s.get("latency_ms", {}).get("PostEntry", {}).get("p99_ms"),
    "state_digest": s["state_digest"]}))
PYEOF
}
LOG="$WORK/runs.jsonl"
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then order="base new"; else order="new base"; fi
  for v in $order; do one_run "$v" "$WORK/run-$v" | sed "s/^{/{\"round\": $r, /" | tee -a "$LOG"; done
done
"$PY" - "$LOG" <<'PYEOF'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
assert len({r["state_digest"] for r in runs}) == 1, "the runs ended in different states"
keys = ["wall_s", "simulate_s", "server_user_s", "server_sys_s", "write_syscalls", "write_mb",
        "postentry_p99_ms"]
by = {}
for r in runs:
    by.setdefault(r["round"], {})[r["tree"]] = r
for k in keys:
    ratios = [d["new"][k] / d["base"][k] for d in by.values() if d["new"][k] and d["base"][k]]
    if not ratios:  # (a twin too old to report it)
        continue
    print(f"{k}: median new/base {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f} to {max(ratios):.3f}; new higher in "
          f"{sum(x > 1 for x in ratios)} of {len(ratios)} rounds)")
print("state digest", runs[0]["state_digest"])
PYEOF
