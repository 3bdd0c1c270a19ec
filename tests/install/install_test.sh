#!/usr/bin/env bash
# The install, as a user meets it (tests/install/CMakeLists.txt runs one step per CTest entry):
#   install     cmake --install of the build tree into a scratch prefix, and exactly the expected
#               files there: no test, benchmark or fuzz program, no private header or library;
#   examples    examples/custom_worker and examples/custom_producer configured and built out of
#               tree by a fresh cmake with find_package(Corsair) against that prefix, then run
#               with the installed corsair-broker and corsair: they count a file's words;
#   pkg-config  a C++17 program on corsair-protocol and a C++20 one on corsair-worker and
#               corsair-producer, compiled and linked with $(pkg-config --cflags --libs ...), run;
#   man-pages   the installed man pages render with groff, without a warning, with their sections.
# Settings come from install_test.env, which CMake writes next to the build's tests.
# shellcheck disable=SC2154 # work, source_dir, cmake, ...: assigned by the sourced ENV_FILE
set -euo pipefail
step="${1:?usage: install_test.sh install|examples|pkg-config|man-pages ENV_FILE}"
# shellcheck source=/dev/null
source "${2:?usage: install_test.sh STEP ENV_FILE}"
prefix="$work/prefix"
run=""  # the examples step's processes' folder, whose logs a failure shows

fail() {
  echo "install_test ($step): $*" >&2
  if [ -n "$run" ]; then
    local log
    for log in "$run"/*.log; do
      echo "--- $log" >&2
      tail -n 20 "$log" >&2
    done
  fi
  exit 1
}

# Extra compiler and linker flags for what links the installed libraries: a sanitized build's
# libraries need the sanitizer's runtime.
extra_flags=()
if [ -n "$sanitize" ]; then
  extra_flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)
fi

check_installed_files() {
  rm -rf "$work"
  mkdir -p "$work"
  "$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log" >&2; fail "cmake --install failed"; }

  local expected=(bin/corsair bin/corsair-broker bin/corsair-worker
                  "$libdir/libcorsair_producer.a" "$libdir/libcorsair_worker.a"
                  "$libdir/cmake/Corsair/CorsairConfig.cmake" "$libdir/cmake/Corsair/CorsairConfigVersion.cmake"
                  "$libdir/cmake/Corsair/CorsairFindMsgpack.cmake" "$libdir/cmake/Corsair/CorsairTargets.cmake"
                  "$libdir/pkgconfig/corsair-protocol.pc" "$libdir/pkgconfig/corsair-worker.pc"
                  "$libdir/pkgconfig/corsair-producer.pc")
  if [ "$has_man_pages" = 1 ]; then
    expected+=("$mandir/man1/corsair.1" "$mandir/man1/corsair-broker.1" "$mandir/man1/corsair-worker.1")
  fi
  local part header
  for part in protocol worker producer; do
    while IFS= read -r header; do
      expected+=("$includedir/${header#./}")
    done < <(cd "$source_dir/$part/include" && find . -name '*.hpp')
  done
  # The per-configuration targets file (CorsairTargets-relwithdebinfo.cmake), and what
  # packaging/ adds once it exists: the example config files and the systemd units.
  (cd "$prefix" && find . -type f | sed 's|^\./||' |
     grep -Ev "^$libdir/cmake/Corsair/CorsairTargets-[a-z]+\.cmake$|^(.*/)?etc/corsair/[^/]+\.toml$|^lib/systemd/system/[^/]+$" |
     sort) >"$work/installed.txt"
  printf '%s\n' "${expected[@]}" | sort >"$work/expected.txt"
  if ! diff -u "$work/expected.txt" "$work/installed.txt" >"$work/files.diff"; then
    cat "$work/files.diff" >&2
    fail "the installed files differ from the expected ones (- missing, + unexpected)"
  fi
  ls "$prefix/$libdir/cmake/Corsair/"CorsairTargets-*.cmake >/dev/null || fail "no per-configuration CorsairTargets file"
  local program
  for program in corsair corsair-broker corsair-worker; do
    [ -x "$prefix/bin/$program" ] || fail "bin/$program is not executable"
    "$prefix/bin/$program" --version | grep -qx "$program $version" || fail "bin/$program --version does not say $version"
  done
  echo "install_test: $(wc -l <"$work/installed.txt") files installed as expected under $prefix"
}

# Configures and builds one example out of tree, as its README says, against the prefix only.
build_example() {
  local name="$1"
  local flags=(-G "$generator" -DCMAKE_MAKE_PROGRAM="$make_program" -DCMAKE_CXX_COMPILER="$cxx"
               -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix${prefix_path:+;$prefix_path}"
               -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
  [ -z "$cxx_launcher" ] || flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$cxx_launcher")
  if [ -n "$sanitize" ]; then
    flags+=(-DCMAKE_CXX_FLAGS="${extra_flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${extra_flags[*]}")
  fi
  "$cmake" -S "$source_dir/examples/$name" -B "$work/$name" "${flags[@]}" >"$work/$name-configure.log" 2>&1 ||
    { cat "$work/$name-configure.log" >&2; fail "configuring examples/$name out of tree failed"; }
  local found
  found="$(sed -n 's/^Corsair_DIR:PATH=//p' "$work/$name/CMakeCache.txt")"
  [ "$found" = "$prefix/$libdir/cmake/Corsair" ] || fail "examples/$name found Corsair in '$found', not in the prefix"
  "$cmake" --build "$work/$name" >"$work/$name-build.log" 2>&1 ||
    { cat "$work/$name-build.log" >&2; fail "building examples/$name out of tree failed"; }
}

pids=()
stop_children() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# SIGTERM, then up to `seconds` for the process to exit (it drains), then the exit status.
stop_process() {
  local pid="$1" seconds="$2" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + seconds))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "process $pid did not stop within ${seconds} s of SIGTERM"
    sleep 0.1
  done
  wait "$pid"
}

check_examples() {
  [ -d "$prefix" ] || fail "no install at $prefix (the install step runs first)"
  build_example custom_worker
  build_example custom_producer
  echo "install_test: examples/custom_worker and examples/custom_producer built out of tree against $prefix"

  run="$work/run"
  mkdir -p "$run"
  trap stop_children EXIT
  coproc BROKER { exec "$prefix/bin/corsair-broker" --producers 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' \
                   --http 127.0.0.1:0 --data-dir "$run/data" 2>"$run/broker.log"; }
  # shellcheck disable=SC2153 # BROKER_PID: set by coproc
  local broker_pid="$BROKER_PID"
  pids+=("$broker_pid")
  local ready_line=""
  read -r -t 20 ready_line <&"${BROKER[0]}" || fail "corsair-broker printed no ready line within 20 s"
  local producers workers
  producers="${ready_line#*producers=}"; producers="${producers%% *}"
  workers="${ready_line#*workers=}"; workers="${workers%% *}"

  "$work/custom_worker/word-count-worker" --broker "$workers" 2>"$run/worker.log" &
  local worker_pid=$!
  pids+=("$worker_pid")
  printf 'the quick brown fox\njumps over\nthe lazy dog\n' >"$run/words.txt"
  # The job waits in its queue until the worker has joined; the producer gives up on a silent
  # broker by itself (30 s), and timeout bounds the rest.
  timeout 60 "$work/custom_producer/word-count-producer" --broker "$producers" "$run/words.txt" \
    >"$run/producer.out" 2>"$run/producer.log" || fail "word-count-producer failed (exit $?)"
  if ! grep -q '"lines":3' "$run/producer.out" || ! grep -q '"words":9' "$run/producer.out"; then
    fail "word-count-producer printed $(cat "$run/producer.out"), not 3 lines and 9 words"
  fi

  # The installed corsair too, against the same broker and worker.
  local result
  result="$(timeout 60 "$prefix/bin/corsair" submit wordcount 'one two three' --wait --broker "$producers" 2>"$run/corsair.log")" ||
    fail "the installed corsair submit --wait failed"
  grep -q '"words":3' <<<"$result" || fail "corsair submit --wait printed $result, not 3 words"

  stop_process "$worker_pid" 30 || fail "word-count-worker exited with $? on SIGTERM"
  stop_process "$broker_pid" 30 || fail "corsair-broker exited with $? on SIGTERM"
  pids=()
  echo "install_test: the out-of-tree word-count worker and producer counted $(cut -f2 "$run/producer.out") with the installed broker"
}

check_pkg_config() {
  [ -d "$prefix" ] || fail "no install at $prefix (the install step runs first)"
  # The prefix's own .pc files, then those of any prefix the build itself used (a TSan libzmq).
  local path="$prefix/$libdir/pkgconfig" entry
  local -a entries
  IFS=';' read -r -a entries <<<"$prefix_path"
  for entry in "${entries[@]}"; do
    [ -z "$entry" ] || path+=":$entry/lib/pkgconfig:$entry/$libdir/pkgconfig"
  done
  export PKG_CONFIG_PATH="$path${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  local module
  for module in corsair-protocol corsair-worker corsair-producer; do
    pkg-config --validate "$module" || fail "pkg-config --validate $module failed"
    [ "$(pkg-config --modversion "$module")" = "$version" ] || fail "$module's version is not $version"
  done

  local out="$work/pkg-config"
  mkdir -p "$out"
  # Through ccache when the build uses it.
  local -a compile=("$cxx")
  [ -z "$cxx_launcher" ] || compile=("$cxx_launcher" "$cxx")
  local flags
  flags="$(pkg-config --cflags --libs corsair-protocol)"
  # shellcheck disable=SC2086 # pkg-config's output is a list of flags
  "${compile[@]}" -std=c++17 "${extra_flags[@]}" "$source_dir/tests/install/protocol_program.cpp" -o "$out/protocol_program" $flags ||
    fail "compiling against corsair-protocol as C++17 failed: $cxx -std=c++17 ... $flags"
  "$out/protocol_program" | grep -qx 'heartbeat interval_ms=250' || fail "protocol_program did not round-trip a HEARTBEAT"

  flags="$(pkg-config --cflags --libs corsair-worker corsair-producer)"
  # shellcheck disable=SC2086
  "${compile[@]}" -std=c++20 "${extra_flags[@]}" "$source_dir/tests/install/library_program.cpp" -o "$out/library_program" $flags ||
    fail "compiling and linking against corsair-worker and corsair-producer failed: $cxx -std=c++20 ... $flags"
  "$out/library_program" | grep -q '^worker .* producer job ' || fail "library_program did not run"
  echo "install_test: programs built with pkg-config: $flags"
}

check_man_pages() {
  [ -d "$prefix" ] || fail "no install at $prefix (the install step runs first)"
  [ "$has_man_pages" = 1 ] || fail "the build made no man pages: help2man was not found when it was configured (apt-get install help2man)"
  command -v groff >/dev/null || fail "groff is missing (Debian: apt-get install groff-base)"
  # Each page with a flag of its own that must be in it.
  local entry program flag page text
  for entry in corsair-broker:--data-dir corsair-worker:--capacity corsair:--version; do
    program="${entry%%:*}"
    flag="${entry#*:}"
    page="$prefix/$mandir/man1/$program.1"
    [ -s "$page" ] || fail "$page is missing or empty"
    grep -q '^\.SH NAME' "$page" || fail "$page has no NAME section"
    grep -A1 '^\.SH NAME' "$page" | grep -q "^$program \\\\- " || fail "$page's NAME section does not read '$program \\- ...'"
    # -ww: every warning; -P-cbou: plain text, no bold or underline by overstriking.
    text="$(groff -man -Tascii -ww -P-cbou "$page" 2>"$work/groff.err")" || fail "groff failed on $page"
    [ ! -s "$work/groff.err" ] || { cat "$work/groff.err" >&2; fail "groff warned on $page"; }
    for section in NAME SYNOPSIS DESCRIPTION OPTIONS; do
      grep -qx "$section" <<<"$text" || fail "$page renders without a $section section"
    done
    grep -q -- "$flag" <<<"$text" || fail "$page does not mention $flag"
  done
  echo "install_test: corsair.1, corsair-broker.1 and corsair-worker.1 render without a warning"
}

case "$step" in
  install) check_installed_files ;;
  examples) check_examples ;;
  pkg-config) check_pkg_config ;;
  man-pages) check_man_pages ;;
  *) fail "unknown step (install, examples, pkg-config or man-pages)" ;;
esac
