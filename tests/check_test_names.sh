#!/usr/bin/env bash
# Fails when a Catch2 case name holds ';' (catch_discover_tests would split it into CTest entries
# that run nothing, tests/CMakeLists.txt) or starts with '-' (the test program would read it as
# one of its own options and run nothing). Arguments: the test executables.
set -euo pipefail
status=0
for binary in "$@"; do
  # Catch2 v2 exits with the number of cases listed, so the exit code says nothing here.
  names="$("$binary" --list-test-names-only)" || true
  if [ -z "$names" ]; then
    echo "$(basename "$binary"): listed no test names" >&2
    status=1
  fi
  if bad="$(grep -F ';' <<<"$names")"; then
    while IFS= read -r name; do
      echo "$(basename "$binary"): test name holds ';' (use ', '): $name" >&2
    done <<<"$bad"
    status=1
  fi
  if bad="$(grep -E '^-' <<<"$names")"; then
    while IFS= read -r name; do
      echo "$(basename "$binary"): test name starts with '-' (Catch2 reads it as an option): $name" >&2
    done <<<"$bad"
    status=1
  fi
done
exit "$status"
