#!/usr/bin/env bash
# Builds the libFuzzer targets into build-fuzz/ (clang, ASan+UBSan, ccache when present) and runs
# each for a bounded time as the ctest tests labelled `fuzz` (docs/fuzzing.md). Needs Debian's
# clang and libclang-rt-14-dev (.ci/setup --tests installs them).
#   tests/fuzz/run.sh            every target, 30 s each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh -R journal
# Extra arguments go to ctest. Exit status: ctest's (a crash fails its test; the input that
# crashed is in build-fuzz/fuzz-artifacts/).
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$top/build-fuzz"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORSAIR_FUZZ=ON \
  -DBUILD_TESTING=OFF -DCORSAIR_FUZZ_SECONDS="${FUZZ_SECONDS:-30}" -DCORSAIR_FUZZ_SEED="${FUZZ_SEED:-1}" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target corsair_fuzz_targets
# One at a time: each target uses one core, and the time bound is per target.
ctest --test-dir "$build" -L fuzz --output-on-failure "$@"
