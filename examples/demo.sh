#!/usr/bin/env bash
# Quick start, first command: install what is missing, build, and run the local demo.
# A broker, three workers and a producer pushing 1,000 jobs with a progress bar; one worker is
# killed with SIGKILL mid-run, and the demo shows its jobs requeued and every job done.
#   --curve   the same with CURVE on both broker ports: keys made with `corsair keygen`, a worker
#             key per worker host and an admin key for the CLI (docs/security.md)
# CORSAIR_BUILD_DIR=DIR runs the binaries already built in DIR instead of installing and building
# (the test suite's way of running the demo).
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
curve=0
for arg in "$@"; do
  case "$arg" in
    --curve) curve=1 ;;
    *) echo "usage: $0 [--curve]" >&2; exit 2 ;;
  esac
done
if [ -n "${CORSAIR_BUILD_DIR:-}" ]; then
  bin="$CORSAIR_BUILD_DIR"
else
  bash "$top/.ci/setup"
  bin="$top/build"
fi
broker_bin="$bin/broker/corsair-broker"
worker_bin="$bin/worker/corsair-worker"
cli_bin="$bin/producer/corsair"

work="$(mktemp -d /tmp/corsair-demo-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits for a condition (a shell command) for at most $1 seconds.
wait_for() {
  local seconds="$1"; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then echo "demo: timed out waiting for: $*" >&2; exit 1; fi
    sleep 0.1
  done
}

curve_flags=()
if ((curve)); then
  echo
  echo "== making CURVE keys: the broker's, one per worker (role worker), one for the CLI (role admin) =="
  mkdir -p "$work/keys/allowed"
  "$cli_bin" keygen broker --dir "$work/keys" >/dev/null
  for name in worker-1 worker-2 worker-3; do "$cli_bin" keygen "$name" --role worker --dir "$work/keys" >/dev/null; done
  "$cli_bin" keygen operator --role admin --dir "$work/keys" >/dev/null
  cp "$work/keys/"worker-?.key "$work/keys/operator.key" "$work/keys/allowed/"
  ls "$work/keys/allowed"
  curve_flags=(--curve-secret-key "$work/keys/broker.key_secret" --allowed-keys "$work/keys/allowed")
  export CORSAIR_CURVE_SERVER_KEY="$work/keys/broker.key" CORSAIR_CURVE_KEY="$work/keys/operator.key_secret"
fi

echo
echo "== starting corsair-broker (heartbeat 250ms, liveness 3$( ((curve)) && echo ", CURVE on")) =="
coproc BROKER { exec "$broker_bin" --producers 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' \
                 --heartbeat 250ms --liveness 3 --http 127.0.0.1:0 --data-dir "$work/data" "${curve_flags[@]}" \
                 2>"$work/broker.log"; }
pids+=("$BROKER_PID")
read -r -t 10 ready_line <&"${BROKER[0]}"
echo "$ready_line"
producers="${ready_line#*producers=}"; producers="${producers%% *}"
workers="${ready_line#*workers=}"; workers="${workers%% *}"
export CORSAIR_PRODUCER_ENDPOINT="$producers"

echo "== starting 3 workers (built-in 'sleep' handler, capacity 4 each) =="
for name in worker-1 worker-2 worker-3; do
  # With --curve, each worker runs with its own key (the CLI's key stays in the environment).
  key=()
  ((curve)) && key=(--curve-key "$work/keys/$name.key_secret")
  "$worker_bin" --broker "$workers" --queue demo --capacity 4 --id "$name" --builtin sleep "${key[@]}" 2>"$work/$name.log" &
  pids+=("$!")
  declare "pid_${name//-/_}=$!"
done
workers_registered() { "$cli_bin" stats --json | grep -o '"worker":"worker-[0-9]"' | sort -u | wc -l | grep -qx 3; }
wait_for 15 workers_registered
"$cli_bin" stats

echo "== pushing 1,000 jobs of 40 ms each from one producer =="
seq 1000 | sed 's/.*/40/' > "$work/jobs.txt"
"$cli_bin" submit demo --file "$work/jobs.txt" --wait --json > "$work/results.jsonl" &
submit_pid=$!
pids+=("$submit_pid")

jobs_done() { "$cli_bin" stats --json | grep -o '"jobs_done":[0-9]*' | head -1 | cut -d: -f2; }
third_done() { local n; n="$(jobs_done)"; [ "${n:-0}" -ge 300 ]; }
wait_for 60 third_done
echo
echo "== killing worker-2 (pid $pid_worker_2) with SIGKILL after $(jobs_done) jobs =="
{ kill -KILL "$pid_worker_2"; wait "$pid_worker_2"; } 2>/dev/null || true

wait "$submit_pid"
echo
echo "== what the producer received (one JSON line per job) =="
head -n 3 "$work/results.jsonl"
echo "... $(grep -c '"state":"done"' "$work/results.jsonl") results with state done, $(grep -c '"attempt":2' "$work/results.jsonl") of them on attempt 2"
echo
echo "== what the broker saw =="
grep -E "worker died|worker joined" "$work/broker.log" | sed 's/^\[[^]]*\] //'
echo "requeued jobs: $(grep -c 'requeued job=' "$work/broker.log")"
"$cli_bin" stats
done_count="$(jobs_done)"
echo
if [ "$done_count" -eq 1000 ]; then
  echo "demo: all 1000 jobs done; worker-2's jobs were requeued and finished by the others."
else
  echo "demo: only $done_count of 1000 jobs done" >&2
  exit 1
fi
