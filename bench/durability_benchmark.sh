#!/usr/bin/env bash
# Durability benchmark (issue 4, "Measure and report"); docs/performance.md holds its results.
# corsair-bench's durable workload also measures throughput per --fsync policy; this script adds
# what corsair-bench does not: journal bytes per job, restart time and the compaction pause.
#
# Measures, on this machine:
#   1. throughput of the core workload (JOBS jobs with a 64-byte payload, 4 corsair-worker
#      processes with the echo handler and --capacity 64 each, one `corsair submit --file --wait`
#      producer; jobs/s from its summary line) for --fsync always, interval, never and for no
#      journal (--data-dir ''), RUNS runs of each, interleaved, with a fresh data dir per run;
#      the median per configuration and its ratio to no journal;
#   2. journal bytes per job: the size of DIR/journal.log after a run / JOBS. At the defaults a
#      run does not compact (the journal never reaches --compact-ratio 4 times the live state,
#      which holds every result for --result-ttl), so the file holds every record written. A fifth
#      configuration, "always-compacting" (--fsync always --compact-min-bytes 4 MiB
#      --compact-ratio 1), compacts over and over during the run: its throughput shows what
#      compaction costs, and its broker log gives the loop's pause for each one (paused_us=);
#   3. restart time for PENDING pending jobs: a broker with a data dir and no workers is sent
#      PENDING jobs (`corsair submit --file`, no --wait), killed with SIGKILL and restarted on the
#      same data dir; took_ms and pending come from its 'journal recovered' log line, its RSS
#      from /proc/PID/status;
#   4. the compaction pause with PENDING jobs in memory: the broker is restarted once more on
#      that data dir with --compact-min-bytes 1 --compact-ratio 1, so it compacts at its first
#      heartbeat; paused_us= and rss_bytes= come from its 'journal compaction started' line.
# The throughput runs use 2 CPUs fully on a 2-CPU machine, so anything else running skews them:
# each measurement also prints the CPU that other processes used meanwhile (from /proc/stat less
# this script's own processes) and the hypervisor's steal, and flags it above 10%.
# Every wait polls for a condition with a deadline (ready line, stats, process exit).
#
# Usage: bench/durability_benchmark.sh
# Environment (all optional):
#   CORSAIR_BUILD  build directory holding broker/, worker/, producer/ (default: <repo>/build)
#   WORK_DIR       where data dirs, job files and logs go (default: a new /tmp/corsair-durability-*);
#                  the data dirs live here, so this picks the filesystem being measured
#   JOBS=200000 RUNS=3 PENDING=1000000 WORKERS=4 CAPACITY=64 PAYLOAD_BYTES=64
#   KEEP_DATA=1    keep each run's data dir (they are deleted after being measured otherwise)
# Logs of every broker, worker and producer are kept in WORK_DIR.
set -euo pipefail

top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CORSAIR_BUILD:-$top/build}"
broker_bin="$build/broker/corsair-broker"
worker_bin="$build/worker/corsair-worker"
cli_bin="$build/producer/corsair"
JOBS="${JOBS:-200000}"
RUNS="${RUNS:-3}"
PENDING="${PENDING:-1000000}"
WORKERS="${WORKERS:-4}"
CAPACITY="${CAPACITY:-64}"
PAYLOAD_BYTES="${PAYLOAD_BYTES:-64}"
KEEP_DATA="${KEEP_DATA:-0}"
configs=(always interval never none always-compacting)

for binary in "$broker_bin" "$worker_bin" "$cli_bin"; do
  [ -x "$binary" ] || { echo "durability_benchmark: $binary not found; build first or set CORSAIR_BUILD" >&2; exit 2; }
done
work="${WORK_DIR:-$(mktemp -d /tmp/corsair-durability-XXXXXX)}"
mkdir -p "$work"

# Every process this script starts is tracked here and killed on exit.
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# forget PID: drops a reaped process from pids, so cleanup never signals a reused PID.
forget() {
  local kept=() pid
  for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

say() { printf '%s\n' "$*" >&2; }
die() { say "durability_benchmark: $*"; exit 1; }
now_ms() { date +%s%3N; }

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 50 ms until it succeeds; dies after SECONDS.
wait_for() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$(($(now_ms) + seconds * 1000))
  until "$@"; do
    (($(now_ms) < deadline)) || die "timed out after ${seconds}s waiting for $what"
    sleep 0.05
  done
}

is_gone() { ! kill -0 "$1" 2>/dev/null; }

# stop PID SIGNAL SECONDS: sends SIGNAL, waits up to SECONDS for the process to exit (then
# SIGKILL and a warning) and reaps it. Returns the process's exit status.
stop() {
  local pid="$1" signal="$2" seconds="$3" status=0
  kill "-$signal" "$pid" 2>/dev/null || true
  local deadline=$(($(now_ms) + seconds * 1000))
  until is_gone "$pid"; do
    if (($(now_ms) >= deadline)); then
      say "durability_benchmark: pid $pid still running ${seconds}s after SIG$signal; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  { wait "$pid"; } 2>/dev/null || status=$?
  forget "$pid"
  return "$status"
}

# start_broker NAME DATA_DIR FSYNC [BROKER FLAGS...]: starts a broker on ephemeral ports and waits
# for its ready line. Sets broker_pid, producers, workers_ep; its stdout is WORK/NAME.out, its log
# WORK/NAME.log.
start_broker() {
  local name="$1" data_dir="$2" fsync="$3"; shift 3
  : >"$work/$name.out"
  "$broker_bin" --producers 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' --data-dir "$data_dir" --http 127.0.0.1:0 \
    --fsync "$fsync" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  broker_pid=$!
  pids+=("$broker_pid")
  broker_ready() { grep -q '^corsair-broker ready ' "$work/$name.out" || { is_gone "$broker_pid" && die "broker $name exited: $(tail -3 "$work/$name.log")"; }; }
  wait_for 120 "the ready line of broker $name" broker_ready
  local line
  line="$(grep -m1 '^corsair-broker ready ' "$work/$name.out")"
  producers="${line#*producers=}"; producers="${producers%% *}"
  workers_ep="${line#*workers=}"; workers_ep="${workers_ep%% *}"
}

# stats_number KEY: the first "KEY":N in `corsair stats --json` (counters come first, then queues).
stats_number() {
  "$cli_bin" stats --json --broker "$producers" --wait-timeout 5s | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2
}
workers_joined() { [ "$(stats_number workers_joined)" = "$WORKERS" ]; }

# The machine may be shared: each measurement reports how much CPU other processes used while it
# ran ("other"), and how much the hypervisor took (steal), as percentages of all CPUs over its
# wall time. cpu_mark saves /proc/stat and this shell's children's CPU time (bash `times`, which
# counts every reaped descendant: broker, workers, producer, the tools the script runs);
# cpu_report [PID...] sets cpu_used to what happened since; PIDs are processes started since the
# mark and still running, whose CPU time counts as ours too. Neither may run in a subshell ($(...)), whose
# `times` would not see this shell's children.
ticks_ms=$((1000 / $(getconf CLK_TCK)))
# cpu_sample sets cpu_sampled to "WALL_MS BUSY_MS STEAL_MS OUR_CHILDREN_MS".
cpu_sample() {
  times >"$work/times.txt"  # a builtin with a redirection: runs in this shell, sees its children
  local children_ms
  children_ms="$(awk 'NR == 2 {for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]}
                      printf "%.0f", t * 1000}' "$work/times.txt")"
  cpu_sampled="$(awk -v c="$children_ms" -v t="$ticks_ms" -v now="$(now_ms)" \
    '/^cpu / {printf "%.0f %.0f %.0f %.0f", now, ($2 + $3 + $4 + $7 + $8) * t, $9 * t, c}' /proc/stat)"
}
# busy_check WHAT: notes WHAT in the report when other processes used over 10% of the CPUs.
busy_check() {
  local other="${cpu_used#other }"; other="${other%%%*}"
  if ((other > 10)); then odd+=("$1: other processes used ${other}% of the CPUs meanwhile; its figure is not clean"); fi
}
cpu_mark() { cpu_sample; cpu_at_mark="$cpu_sampled"; }
cpu_report() {
  local live_ms=0 pid
  for pid in "$@"; do live_ms=$((live_ms + $(awk -v t="$ticks_ms" '{printf "%.0f", ($14 + $15) * t}' "/proc/$pid/stat"))); done
  cpu_sample
  cpu_used="$(awk -v a="$cpu_at_mark" -v b="$cpu_sampled" -v n="$(nproc)" -v live="$live_ms" 'BEGIN {
    split(a, x, " "); split(b, y, " "); wall = (y[1] - x[1]) * n; if (wall <= 0) wall = 1
    other = (y[2] - x[2]) - (y[4] - x[4]) - live; if (other < 0) other = 0
    printf "other %d%%, steal %d%%", 100 * other / wall, 100 * (y[3] - x[3]) / wall}')"
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
vm_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
file_bytes() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }

# Job files: one payload per line, PAYLOAD_BYTES digits each (the newline is not sent).
make_jobs() { awk -v n="$1" -v w="$PAYLOAD_BYTES" 'BEGIN {f = "%0" w "d\n"; for (i = 1; i <= n; i++) printf f, i}' >"$2"; }

say "durability_benchmark: work dir $work"
say "machine: $(nproc) cpus, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
say "data dir filesystem: $(df -T "$work" | awk 'NR == 2 {print $2 " on " $1 " (" $7 ")"}')"
say "workload: $JOBS jobs x $PAYLOAD_BYTES-byte payload, $WORKERS echo workers x capacity $CAPACITY, one 'corsair submit --file --wait'; $RUNS runs per configuration"
make_jobs "$JOBS" "$work/jobs.txt"

# --- 1 and 2: throughput per configuration, journal size after the --fsync always runs --------
declare -A rates=()      # config -> "r1 r2 r3"
declare -A others=()     # config -> "other N%, steal N% / ..." per run
declare -A journal_sizes=()  # config -> "bytes1 bytes2 bytes3" (journal.log after each run)
declare -A pauses=()     # config -> every compaction's paused_us over its runs
odd=()                   # failures, warnings, errors and compactions, printed at the end

# run_once CONFIG RUN: one run of the core workload.
run_once() {
  local config="$1" run="$2" name="run-$2-$1" data_dir="" fsync="$1" flags=()
  case "$config" in
    none) fsync=always ;;
    always-compacting) fsync=always; flags=(--compact-min-bytes 4194304 --compact-ratio 1) ;;
  esac
  if [ "$config" != none ]; then data_dir="$work/data-$name"; rm -rf "$data_dir"; fi
  cpu_mark
  start_broker "$name" "$data_dir" "$fsync" "${flags[@]}"
  local worker_pids=() i
  for ((i = 1; i <= WORKERS; i++)); do
    "$worker_bin" --broker "$workers_ep" --queue bench --capacity "$CAPACITY" --id "$name-w$i" --builtin echo \
      2>"$work/$name-w$i.log" &
    worker_pids+=("$!"); pids+=("$!")
  done
  wait_for 30 "$WORKERS workers to join broker $name" workers_joined

  local status=0
  timeout 600 "$cli_bin" submit bench --broker "$producers" --file "$work/jobs.txt" --wait \
    >/dev/null 2>"$work/$name.submit.log" || status=$?
  local summary
  summary="$(grep -E '^done [0-9]+, failed' "$work/$name.submit.log" | tail -1 || true)"
  [ -n "$summary" ] || die "run $name: no summary line from corsair submit (exit $status): $(tail -3 "$work/$name.submit.log")"
  local done_count rate
  done_count="$(sed -E 's/^done ([0-9]+),.*/\1/' <<<"$summary")"
  rate="$(sed -E 's/.*, rate ([0-9]+) jobs\/s.*/\1/' <<<"$summary")"
  if [ "$status" -ne 0 ] || [ "$done_count" != "$JOBS" ]; then odd+=("run $name: corsair submit exit $status: $summary"); fi
  rates[$config]+="$rate "

  for i in "${worker_pids[@]}"; do stop "$i" TERM 30 || odd+=("run $name: worker pid $i exited with status $?"); done
  stop "$broker_pid" TERM 60 || odd+=("run $name: broker exited with status $?")
  local lines
  lines="$(grep -E '\[(warn|warning|error|critical)\]|compaction (abandoned|not started)' "$work/$name.log" \
           | grep -v 'no data directory' || true)"
  pauses[$config]+="$(grep -o 'paused_us=[0-9]*' "$work/$name.log" | cut -d= -f2 | tr '\n' ' ' || true)"
  if [ -n "$lines" ]; then while IFS= read -r l; do odd+=("run $name broker log: $l"); done <<<"$lines"; fi
  cpu_report
  busy_check "run $name"
  local cpu="$cpu_used"
  others[$config]+="${cpu#other } / "
  local compactions
  compactions="$(grep -c 'journal compacted' "$work/$name.log" || true)"
  for ((i = 1; i <= WORKERS; i++)); do
    lines="$(grep -E '\[(warn|warning|error|critical)\]' "$work/$name-w$i.log" || true)"
    if [ -n "$lines" ]; then while IFS= read -r l; do odd+=("run $name worker $i log: $l"); done <<<"$lines"; fi
  done

  local extra=""
  if [ "$config" != none ]; then
    local journal_bytes
    journal_bytes="$(file_bytes "$data_dir/journal.log")"
    extra=", journal.log $(mib "$journal_bytes"), compactions $compactions"
    journal_sizes[$config]+="$journal_bytes "
    [ "$KEEP_DATA" = 1 ] || rm -rf "$data_dir"
  fi
  say "  run $run  $(printf '%-16s' "$config")  $summary$extra; $cpu"
}

say
say "== throughput: $RUNS rounds, each runs every configuration once (order rotated per round) =="
for ((run = 1; run <= RUNS; run++)); do
  for ((k = 0; k < ${#configs[@]}; k++)); do
    run_once "${configs[$(((k + run - 1) % ${#configs[@]}))]}" "$run"
  done
done

# --- 3: restart with PENDING pending jobs ---------------------------------------------------
say
say "== restart: $PENDING pending jobs ($PAYLOAD_BYTES-byte payloads), --fsync always, no workers =="
make_jobs "$PENDING" "$work/pending.txt"
restart_dir="$work/data-restart"
rm -rf "$restart_dir"
cpu_mark
start_broker restart-fill "$restart_dir" always
fill_status=0
timeout 900 "$cli_bin" submit pending --broker "$producers" --file "$work/pending.txt" \
  >/dev/null 2>"$work/restart-fill.submit.log" || fill_status=$?
fill_summary="$(grep -E '^submitted [0-9]+ jobs' "$work/restart-fill.submit.log" | tail -1 || true)"
[ -n "$fill_summary" ] || die "filling: no summary line from corsair submit (exit $fill_status): $(tail -3 "$work/restart-fill.submit.log")"
cpu_report "$broker_pid"
busy_check "filling"
fill_cpu="$cpu_used"
say "  fill: $fill_summary; $fill_cpu"
[ "$fill_status" -eq 0 ] || odd+=("filling: corsair submit exit $fill_status: $fill_summary")
pending_in_stats() { [ "$(stats_number pending)" = "$PENDING" ]; }
wait_for 60 "stats to show $PENDING pending jobs" pending_in_stats
rss_before_kb="$(vm_rss_kb "$broker_pid")"
stop "$broker_pid" KILL 30 2>/dev/null || true  # (2>/dev/null: bash's "Killed" job notice)
journal_restart_bytes="$(file_bytes "$restart_dir/journal.log")"
say "  killed with SIGKILL; RSS before the kill $((rss_before_kb / 1024)) MiB, journal.log $(mib "$journal_restart_bytes")"

cpu_mark
restart_started_ms="$(now_ms)"
start_broker restart "$restart_dir" always
restart_ready_ms=$(($(now_ms) - restart_started_ms))
rss_after_kb="$(vm_rss_kb "$broker_pid")"
cpu_report "$broker_pid"
busy_check "restart"
restart_cpu="$cpu_used"
recovered="$(grep -m1 'journal recovered' "$work/restart.log" || true)"
[ -n "$recovered" ] || die "no 'journal recovered' line in $work/restart.log"
took_ms="$(grep -o 'took_ms=[0-9]*' <<<"$recovered" | cut -d= -f2)"
recovered_pending="$(grep -o ' pending=[0-9]*' <<<"$recovered" | cut -d= -f2)"
recovered_records="$(grep -o 'records=[0-9]*' <<<"$recovered" | cut -d= -f2)"
say "  ${recovered#*] }"
say "  ready line after ${restart_ready_ms} ms (process start to ready, as seen by this script); RSS after recovery $((rss_after_kb / 1024)) MiB; $restart_cpu"
[ "$recovered_pending" = "$PENDING" ] || odd+=("restart: recovered pending=$recovered_pending, expected $PENDING")
wait_for 30 "stats to show $PENDING pending jobs after the restart" pending_in_stats
stop "$broker_pid" TERM 120 || odd+=("restart: broker exited with status $?")
lines="$(grep -E '\[(warn|warning|error|critical)\]|compaction|compacted' "$work/restart-fill.log" "$work/restart.log" || true)"
if [ -n "$lines" ]; then while IFS= read -r l; do odd+=("restart broker log: $l"); done <<<"$lines"; fi

# --- 4: the compaction pause with PENDING jobs in memory --------------------------------------
say
say "== compaction with $PENDING pending jobs in memory =="
start_broker compact "$restart_dir" always --compact-min-bytes 1 --compact-ratio 1
compacted() { grep -q 'journal compacted' "$work/compact.log"; }
wait_for 300 "the compaction of $PENDING pending jobs to finish" compacted
compact_started="$(grep -m1 'journal compaction started' "$work/compact.log")"
compact_done="$(grep -m1 'journal compacted' "$work/compact.log")"
compact_pause_us="$(grep -o 'paused_us=[0-9]*' <<<"$compact_started" | cut -d= -f2)"
compact_rss="$(grep -o 'rss_bytes=[0-9]*' <<<"$compact_started" | cut -d= -f2)"
compact_ms="$(( $(date -d "$(cut -c2-24 <<<"$compact_done")" +%s%3N) - $(date -d "$(cut -c2-24 <<<"$compact_started")" +%s%3N) ))"
say "  ${compact_started#*] }"
say "  ${compact_done#*] }"
stop "$broker_pid" TERM 120 || odd+=("compact: broker exited with status $?")
lines="$(grep -E '\[(warn|warning|error|critical)\]' "$work/compact.log" || true)"
if [ -n "$lines" ]; then while IFS= read -r l; do odd+=("compact broker log: $l"); done <<<"$lines"; fi
[ "$KEEP_DATA" = 1 ] || rm -rf "$restart_dir"

# --- the table ------------------------------------------------------------------------------
read -r -a none_rates <<<"${rates[none]}"
none_median="$(median "${none_rates[@]}")"
echo
echo "Corsair durability benchmark: $JOBS jobs x $PAYLOAD_BYTES B, $WORKERS echo workers x capacity $CAPACITY, 1 producer (corsair submit --file --wait)"
echo "machine: $(nproc) cpus, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r), data dir on $(df -T "$work" | awk 'NR == 2 {print $2}')"
echo
label_of() {
  case "$1" in
    none) echo "--data-dir '' (none)" ;;
    always-compacting) echo "always, compacting" ;;
    *) echo "--fsync $1" ;;
  esac
}
per_job() { awk -v b="$1" -v n="$2" 'BEGIN {printf "%.1f", b / n}'; }
printf '%-22s %13s %13s  %-22s %s\n' "configuration" "median jobs/s" "vs no journal" "runs (jobs/s)" \
  "CPU of other processes (steal), per run"
for config in "${configs[@]}"; do
  read -r -a values <<<"${rates[$config]}"
  m="$(median "${values[@]}")"
  printf '%-22s %13s %13s  %-22s %s\n' "$(label_of "$config")" "$m" \
    "$(awk -v a="$m" -v b="$none_median" 'BEGIN {printf "%.2fx", a / b}')" "${values[*]}" \
    "$(sed -e 's/, steal \([0-9]*%\)/ (\1)/g; s/ \/ $//' <<<"${others[$config]}")"
done
echo
echo "journal bytes per job (journal.log size after the run / $JOBS jobs):"
for config in always interval never always-compacting; do
  read -r -a sizes <<<"${journal_sizes[$config]}"
  per=()
  for b in "${sizes[@]}"; do per+=("$(per_job "$b" "$JOBS")"); done
  printf '  %-22s median %6s  (runs: %s)\n' "$(label_of "$config")" "$(median "${per[@]}")" "${per[*]}"
done
echo "  each job writes three records: submitted (holds the payload), dispatched, done (holds the result);"
echo "  with the echo handler the result is the payload again, so the $PAYLOAD_BYTES bytes are stored twice."
echo "  'always, compacting' is smaller: a snapshot keeps each done job as submitted (without its"
echo "  payload) + done, as results are kept for --result-ttl."
echo
read -r -a compacting_pauses <<<"${pauses[always-compacting]:-}"
if ((${#compacting_pauses[@]} > 0)); then
  echo "compaction pauses of the loop during the 'always, compacting' runs (fork only; microseconds):"
  echo "  ${#compacting_pauses[@]} compactions, median $(median "${compacting_pauses[@]}"), max $(printf '%s\n' "${compacting_pauses[@]}" | sort -n | tail -1)"
  echo
fi
echo "restart with $PENDING pending jobs (--fsync always, broker killed with SIGKILL):"
echo "  journal.log               $(mib "$journal_restart_bytes") ($(per_job "$journal_restart_bytes" "$PENDING") bytes per pending job)"
echo "  recovery took_ms          $took_ms (records=$recovered_records pending=$recovered_pending)"
echo "  start to ready line       ${restart_ready_ms} ms"
echo "  RSS after recovery        $((rss_after_kb / 1024)) MiB (before the kill: $((rss_before_kb / 1024)) MiB)"
echo "  CPU of other processes    filling: $fill_cpu; restart: $restart_cpu"
echo "  filling                   $fill_summary"
echo
echo "compaction with $PENDING pending jobs in memory (restarted with --compact-min-bytes 1 --compact-ratio 1):"
echo "  loop paused               $compact_pause_us us (the fork), broker RSS $(mib "$compact_rss")"
echo "  snapshot to switch        $compact_ms ms (written by the child while the loop ran on)"
echo "  ${compact_done#*] }"
if ((${#odd[@]} > 0)); then
  echo
  echo "worth a look: failures, and warnings, errors and compactions from the logs (all logs are in $work):"
  printf '  %s\n' "${odd[@]}"
fi
echo
echo "logs: $work"
