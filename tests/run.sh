#!/usr/bin/env bash
# Quick start, second command: install what is missing, build, run the whole test suite.
# --asan: the same under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/;
# --tsan: under ThreadSanitizer, in build-tsan/ (docs/testing.md). Other arguments go to ctest.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=build
setup_flags=(--tests)
# Sanitized programs run slower: the harness's deadlines grow by CORSAIR_TEST_TIME_SCALE.
case "${1:-}" in
  --asan) build=build-asan; setup_flags+=(--sanitize address,undefined); shift
          export CORSAIR_TEST_TIME_SCALE="${CORSAIR_TEST_TIME_SCALE:-2}" ;;
  --tsan) build=build-tsan; setup_flags+=(--sanitize thread); shift
          export CORSAIR_TEST_TIME_SCALE="${CORSAIR_TEST_TIME_SCALE:-4}" ;;
esac
bash "$top/.ci/setup" "${setup_flags[@]}"
cd "$top/$build"
ctest --output-on-failure -j 2 --timeout 300 "$@"
