#!/usr/bin/env bash
# systemd-analyze verify on packaging/systemd/'s units, as copies whose ExecStart names this
# build's binaries (verify checks that the program exists and is executable). Fails on any
# output, not only on a non-zero exit: verify reports an unknown or misspelt setting as a
# warning and still exits 0. --man=no: the man pages of Documentation= are made at install.
# Also prints systemd-analyze security's exposure score of each, and fails above a ceiling.
# Usage: verify_units.sh UNITS_DIR BROKER_BIN WORKER_BIN
set -euo pipefail
units="$1" broker="$2" worker="$3"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/corsair-units-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
sed "s|^ExecStart=/usr/bin/corsair-broker |ExecStart=$broker |" "$units/corsair-broker.service" \
  > "$scratch/corsair-broker.service"
sed "s|^ExecStart=/usr/bin/corsair-worker |ExecStart=$worker |" "$units/corsair-worker@.service" \
  > "$scratch/corsair-worker@.service"
# The rewrite took: otherwise verify would check /usr/bin's (absent) binaries, or none.
grep -q "^ExecStart=$broker --config /etc/corsair/broker.toml$" "$scratch/corsair-broker.service"
grep -q "^ExecStart=$worker --config /etc/corsair/worker-%i.toml$" "$scratch/corsair-worker@.service"

cd "$scratch"
status=0
# The template is verified through an instance, as systemctl start would load it.
output="$(systemd-analyze verify --man=no corsair-broker.service corsair-worker@thumbnails.service 2>&1)" || status=$?
echo "systemd-analyze verify: exit $status, output: ${output:-(none)}"
if [ "$status" -ne 0 ] || [ -n "$output" ]; then
  exit 1
fi

# The exposure score (0 is locked down, 10 is not at all) of each unit. The broker's ceiling is
# tight; the worker runs arbitrary commands, so its unit leaves more open (see its comments).
check_exposure() {
  local unit="$1" ceiling="$2" report score
  report="$(systemd-analyze security --offline=true --no-pager "./$unit" 2>&1)"
  score="$(sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' <<<"$report")"
  echo "systemd-analyze security $unit: ${score:-?} (ceiling $ceiling)"
  [ -n "$score" ] && awk -v s="$score" -v c="$ceiling" 'BEGIN { exit !(s <= c) }'
}
check_exposure corsair-broker.service 2.0
check_exposure corsair-worker@thumbnails.service 3.5
