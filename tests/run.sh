#!/usr/bin/env bash
# Quick start, second command: install what is missing, build, run the whole test suite.
# --asan: the same under AddressSanitizer + UndefinedBehaviorSanitizer, in build-asan/;
# --tsan: under ThreadSanitizer, in build-tsan/ (docs/testing.md). Other arguments go to ctest.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build=build
setup_flags=(--tests)
case "${1:-}" in
  --asan) build=build-asan; setup_flags+=(--sanitize address,undefined); shift ;;
  --tsan) build=build-tsan; setup_flags+=(--sanitize thread); shift ;;
esac
bash "$top/.ci/setup" "${setup_flags[@]}"
cd "$top/$build"
ctest --output-on-failure -j 2 --timeout 300 "$@"
