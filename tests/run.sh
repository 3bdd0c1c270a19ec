#!/usr/bin/env bash
# Quick start, second command: install what is missing, build, run the whole test suite.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$top/.ci/setup" --tests
cd "$top/build"
ctest --output-on-failure -j 2 --timeout 300 "$@"
