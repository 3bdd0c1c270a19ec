#!/usr/bin/env bash
# Quick start, second command: install what is missing, build, and run every check CI runs:
#   1. the whole test suite (ctest) in build/;
#   2. the Debian packages made from build/ (cpack, lintian) and the runtime one installed, run and
#      purged in a fresh Debian 12 made by debootstrap (tests/package/, ctest -L package): needs
#      root and Debian's mirror, and fails saying so without them; about 3 minutes the first
#      time in a week (debootstrap, then cached in /var/cache/corsair/debootstrap), 1 after;
#   3. each libFuzzer target for a bounded time (tests/fuzz/run.sh, 30 s each, build-fuzz/);
#   4. the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/.
# Every phase runs even if an earlier one failed; the exit status is the first failure's.
# One phase alone: --quick (1 only), --package (2 only), --fuzz (3 only), --asan (4 only); --tsan
# runs the suite under ThreadSanitizer in build-tsan/ (not in CI: docs/testing.md). Other
# arguments go to ctest in the suite phases (bash tests/run.sh --quick -L unit, --asan -R 'a worker').
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=all
case "${1:-}" in
  --quick|--package|--asan|--tsan|--fuzz) mode="${1#--}"; shift ;;
esac

status=0
summary=()
# Runs one phase, notes how it went and how long it took, keeps the first failure's status.
phase() {
  local name="$1" started=$SECONDS rc=0
  shift
  echo "corsair: === $name ==="
  "$@" || rc=$?
  summary+=("$(printf '%-44s %s in %d s' "$name" "$([ "$rc" -eq 0 ] && echo passed || echo "FAILED (exit $rc)")" $((SECONDS - started)))")
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
}

# Sanitized programs run slower: the harness's deadlines grow by CORSAIR_TEST_TIME_SCALE.
suite() {
  local build="$1" scale="$2"
  shift 2
  bash "$top/.ci/setup" --tests "$@" &&
    (cd "$top/$build" && CORSAIR_TEST_TIME_SCALE="${CORSAIR_TEST_TIME_SCALE:-$scale}" \
       ctest --output-on-failure -j 2 --timeout 300 "${ctest_args[@]}")
}
ctest_args=("$@")

case "$mode" in
  all|quick) phase "test suite (build/)" suite build 1 ;;
esac
# ctest's own timeout is 900 s per entry; this one bounds the phase, setup included. -V: the
# lintian report and the chroot test's summary are in the log even when they pass.
case "$mode" in
  all|package) phase "package: .deb in a debootstrap chroot" timeout 1200 bash -c \
                 "bash '$top/.ci/setup' --tests --package >/dev/null && cd '$top/build' &&
                  CORSAIR_PACKAGE_TEST=1 ctest -V --no-tests=error -L package" ;;
esac
case "$mode" in
  all|fuzz) phase "fuzz targets, bounded (build-fuzz/)" bash -c \
              "bash '$top/.ci/setup' --tests >/dev/null && bash '$top/tests/fuzz/run.sh'" ;;
esac
case "$mode" in
  all|asan) phase "test suite under ASan+UBSan (build-asan/)" suite build-asan 2 --sanitize address,undefined ;;
  tsan) phase "test suite under TSan (build-tsan/)" suite build-tsan 4 --sanitize thread ;;
esac

echo "corsair: === summary ==="
printf '  %s\n' "${summary[@]}"
exit "$status"
