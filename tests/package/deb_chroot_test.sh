#!/usr/bin/env bash
# The Debian package as an administrator meets it, in a fresh minimal Debian 12 (docs/install.md,
# The Debian packages): `apt-get install ./corsair_VERSION_amd64.deb` from Debian's mirror; the
# user, folders, conffiles, units (systemd-analyze verify) and man pages; the broker and a worker
# started exactly as the units' ExecStart= lines say, as the units' user, and a job through them
# with the installed `corsair`; a reinstall that keeps an edited conffile; then a purge that
# leaves none of the package's files, and a second purge once the journal is gone.
#
# Usage: deb_chroot_test.sh DEB WORK
#   DEB   the runtime package, corsair_VERSION_amd64.deb
#   WORK  a scratch folder: the chroot is unpacked in WORK/root and removed at the end; the
#         logs of apt-get, the broker and the worker stay in WORK/logs
# The fresh tree is `debootstrap --variant=minbase bookworm`, made once per ISO week (1 to
# 2.5 minutes) and kept as a tarball in $CORSAIR_DEBOOTSTRAP_CACHE (by default
# ${XDG_CACHE_HOME:-/var/cache}/corsair/debootstrap); each run unpacks a copy of it.
# Needs root (chroot, mount) and Debian's mirror (debootstrap, apt-get in the chroot): without
# either it fails, saying which. Only /proc is mounted in the chroot (its /dev is debootstrap's
# own device nodes); every mount is undone on exit, whatever happened.
# shellcheck disable=SC2016 # dpkg-query's ${Field} formats and sh -c's script: single-quoted on purpose
set -euo pipefail
deb="$(realpath -m "${1:?usage: deb_chroot_test.sh DEB WORK}")"
# Absolute, as findmnt names the mounts to undo.
work="$(realpath -m "${2:?usage: deb_chroot_test.sh DEB WORK}")"
cache_dir="${CORSAIR_DEBOOTSTRAP_CACHE:-${XDG_CACHE_HOME:-/var/cache}/corsair/debootstrap}"
suite=bookworm
root="$work/root"
log="$work/logs"
started=$SECONDS

results=()
failures=0
pids=()
making=""

say() { echo "deb_chroot_test: $*"; }
pass() {
  results+=("ok    $1")
  say "ok    $1"
}
failed() {
  results+=("FAIL  $1")
  say "FAIL  $1${2:+: $2}" >&2
  failures=$((failures + 1))
}
# Runs a check function; its output is the reason shown when it fails.
check() {
  local name="$1" output
  shift
  if output="$("$@" 2>&1)"; then
    pass "$name"
  else
    failed "$name" "$(tail -n 15 <<<"$output")"
  fi
}
# A step the rest cannot do without: fail it and stop (the EXIT trap cleans up and sums up).
fatal() {
  failed "$1" "${2:-}"
  exit 1
}

# The mounts under a folder, deepest first.
mounts_under() {
  findmnt -rn -o TARGET | awk -v dir="$1" 'index($0, dir "/") == 1 || $0 == dir' | sort -r
}
unmount_under() {
  local target
  while IFS= read -r target; do
    umount "$target" || umount --lazy "$target" || true
  done < <(mounts_under "$1")
}

# The processes whose root is `dir`: what runs in the chroot, children of the programs included.
processes_in() {
  local entry link
  for entry in /proc/[0-9]*; do
    link="$(readlink "$entry/root" 2>/dev/null)" || continue
    [ "$link" != "$1" ] || echo "${entry#/proc/}"
  done
}
# SIGKILL to each, then at most 5 s for them to be gone, so that /proc can be unmounted.
kill_processes_in() {
  local pid deadline=$((SECONDS + 5))
  for pid in $(processes_in "$1"); do
    kill -KILL "$pid" 2>/dev/null
  done
  while [ -n "$(processes_in "$1")" ] && ((SECONDS < deadline)); do
    sleep 0.1
  done
}

cleanup() {
  local rc=$? pid
  set +e
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  kill_processes_in "$root"
  # What debootstrap mounted in a tree this run was making (it undoes that itself unless killed).
  [ -z "$making" ] || unmount_under "$making"
  if [ -d "$work" ]; then
    unmount_under "$work"
    if [ -n "$(mounts_under "$work")" ]; then
      say "FAIL  mounts are left under $work, so it is not removed:" >&2
      mounts_under "$work" >&2
      rc=1
    elif [ -d "$root" ]; then
      rm -rf --one-file-system "$root"
    fi
  fi
  echo "deb_chroot_test: === summary ($((SECONDS - started)) s) ==="
  printf '  %s\n' "${results[@]}"
  if [ "$rc" -eq 0 ] && [ "$failures" -eq 0 ]; then
    echo "deb_chroot_test: ${#results[@]} passed, 0 failed"
  elif [ "$failures" -eq 0 ]; then
    echo "deb_chroot_test: stopped (exit $rc) after ${#results[@]} passed"
  else
    echo "deb_chroot_test: $(( ${#results[@]} - failures )) passed, $failures failed"
    [ "$rc" -ne 0 ] || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- preconditions --------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || fatal "runs as root" "chroot and mount need root (CI runs as root): sudo bash tests/run.sh --package"
for tool in debootstrap zstd tar findmnt chroot flock; do
  command -v "$tool" >/dev/null || fatal "finds its tools" "$tool is missing (Debian: apt-get install debootstrap zstd, or .ci/setup --package)"
done
[ -f "$deb" ] || fatal "finds the package" "$deb does not exist: cmake --build build --target package"
deb_name="$(basename "$deb")"
# A run killed with SIGKILL (a CTest timeout) could not clean up: undo what it left first.
if [ -n "$(processes_in "$root")" ]; then
  say "killing what an earlier run left running in $root: $(processes_in "$root" | xargs)"
  kill_processes_in "$root"
fi
if [ -n "$(mounts_under "$work")" ]; then
  say "unmounting what an earlier run left: $(mounts_under "$work" | xargs)"
  unmount_under "$work"
  [ -z "$(mounts_under "$work")" ] || fatal "starts with nothing mounted under $work" "$(mounts_under "$work")"
fi
rm -rf --one-file-system "$root" "$log"
mkdir -p "$root" "$log" "$cache_dir"

# --- a fresh Debian 12, from the week's cached tarball ----------------------------------------
# The week's tarball, made under a lock so that two runs never make it twice; an older week's is
# deleted then. A failed debootstrap leaves no tarball behind.
tarball="$cache_dir/$suite-minbase-$(date -u +%G-w%V).tar.zst"
make_tarball() {
  local tree="$cache_dir/making" t0=$SECONDS
  making="$tree"
  unmount_under "$tree"
  rm -rf --one-file-system "$tree" "$tarball.part"
  say "no $tarball yet: debootstrap --variant=minbase $suite (1 to 2.5 minutes)"
  if ! debootstrap --variant=minbase "$suite" "$tree" >"$log/debootstrap.log" 2>&1; then
    unmount_under "$tree"
    tail -n 20 "$log/debootstrap.log" >&2
    return 1
  fi
  unmount_under "$tree"
  # Files the host wrote into the tree and that a run replaces anyway.
  rm -f "$tree/etc/resolv.conf" "$tree/etc/hostname"
  tar -C "$tree" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$tarball.part"
  mv "$tarball.part" "$tarball"
  rm -rf --one-file-system "$tree"
  making=""
  find "$cache_dir" -maxdepth 1 -name "$suite-minbase-*.tar.zst" ! -path "$tarball" -delete
  say "made $tarball ($(du -h "$tarball" | cut -f1)) in $((SECONDS - t0)) s"
}
t0=$SECONDS
exec {lock_fd}>"$cache_dir/lock"
flock -w 600 "$lock_fd" || fatal "locks the debootstrap cache" "another run held $cache_dir/lock for 10 minutes"
if [ ! -s "$tarball" ]; then
  make_tarball || fatal "makes a fresh Debian 12 with debootstrap" \
    "debootstrap failed ($log/debootstrap.log above): it needs Debian's mirror over the network"
fi
flock -u "$lock_fd"
zstd -q -dc "$tarball" | tar -C "$root" --numeric-owner -xpf - ||
  fatal "unpacks the fresh Debian 12" "cannot unpack $tarball"
pass "a fresh Debian 12 (debootstrap --variant=minbase $suite) in $root, ready in $((SECONDS - t0)) s"

mount -t proc proc "$root/proc"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# A command in the chroot, with a clean environment, as root.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# --- install ---------------------------------------------------------------------------------
t0=$SECONDS
in_root apt-get update >"$log/apt-update.log" 2>&1 ||
  fatal "reaches Debian's mirror from the chroot" "apt-get update failed: $(tail -n 5 "$log/apt-update.log")"
cp "$deb" "$root/tmp/$deb_name"
if ! in_root apt-get install -y "/tmp/$deb_name" >"$log/apt-install.log" 2>&1; then
  fatal "apt-get install ./$deb_name" "$(tail -n 20 "$log/apt-install.log")"
fi
pulled="$(sed -n '/^The following NEW packages will be installed:/,/^[^ ]/p' "$log/apt-install.log" | sed '1d;$d' | xargs)"
pass "apt-get install ./$deb_name pulled its dependencies from the mirror in $((SECONDS - t0)) s: $pulled"
say "Depends: $(in_root dpkg-query -W -f='${Depends}' corsair)"

# --- what the package made --------------------------------------------------------------------
check_user() {
  local passwd group
  passwd="$(in_root getent passwd corsair)" || { echo "no user corsair"; return 1; }
  group="$(in_root getent group corsair)" || { echo "no group corsair"; return 1; }
  IFS=: read -r _ _ uid gid _ home shell <<<"$passwd"
  echo "passwd: $passwd; group: $group"
  [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/corsair ] && [ "$shell" = /usr/sbin/nologin ] &&
    [ "$gid" = "$(cut -d: -f3 <<<"$group")" ]
}
check "the system user and group corsair (uid < 1000, home /var/lib/corsair, shell /usr/sbin/nologin)" check_user

check_data_folder() {
  local stat
  stat="$(in_root stat -c '%U:%G %a' /var/lib/corsair)"
  echo "/var/lib/corsair: $stat"
  [ "$stat" = "corsair:corsair 750" ]
}
check "/var/lib/corsair is owned by corsair:corsair with mode 0750" check_data_folder

check_conffiles() {
  local conffiles file
  conffiles="$(in_root dpkg-query -W -f='${Conffiles}\n' corsair)"
  echo "conffiles:$conffiles"
  for file in /etc/corsair/broker.toml /etc/corsair/worker-example.toml; do
    [ -f "$root$file" ] || { echo "$file is missing"; return 1; }
    grep -q "^ $file [0-9a-f]\{32\}$" <<<"$conffiles" || { echo "$file is not a conffile"; return 1; }
  done
  # Every file of the package under /etc, not only these two.
  while IFS= read -r file; do
    [ -d "$root$file" ] || grep -q "^ $file " <<<"$conffiles" || { echo "$file is in /etc but not a conffile"; return 1; }
  done < <(in_root dpkg -L corsair | grep '^/etc/')
}
check "/etc/corsair/broker.toml and worker-example.toml are there, and conffiles" check_conffiles

units=(corsair-broker.service corsair-worker@.service)
check_units() {
  local unit
  for unit in "${units[@]}"; do
    [ -f "$root/usr/lib/systemd/system/$unit" ] || { echo "/usr/lib/systemd/system/$unit is missing"; return 1; }
    # Debian 12 merges /lib into /usr/lib: systemd finds them in either.
    [ -f "$root/lib/systemd/system/$unit" ] || { echo "/lib/systemd/system/$unit is missing"; return 1; }
  done
}
check "the units corsair-broker.service and corsair-worker@.service in /lib/systemd/system" check_units

# systemd-analyze verify of the chroot's own systemd, installed for it (4 s and 24 MB from the
# mirror): the host's with --root= finds no sysinit.target in a tree without systemd, so it
# needs the same install. It also checks that every program a unit runs is there.
# --man=no: Documentation= would need man-db; the man pages are checked below.
check_verify() {
  local output status=0
  in_root apt-get install -y --no-install-recommends systemd >"$log/apt-systemd.log" 2>&1 ||
    { tail -n 10 "$log/apt-systemd.log"; return 1; }
  output="$(in_root systemd-analyze verify --man=no /usr/lib/systemd/system/corsair-broker.service \
              /usr/lib/systemd/system/corsair-worker@example.service 2>&1)" || status=$?
  echo "systemd-analyze verify: exit $status, output: ${output:-(none)}"
  [ "$status" -eq 0 ] && [ -z "$output" ]
}
check "systemd-analyze verify on the installed units (corsair-worker@example), with the chroot's systemd" check_verify

check_man_pages() {
  local page
  for page in corsair corsair-broker corsair-worker; do
    page="/usr/share/man/man1/$page.1.gz"
    [ -f "$root$page" ] || { echo "$page is missing"; return 1; }
    in_root sh -c "zcat $page | grep -q '^\.SH NAME'" || { echo "$page has no NAME section"; return 1; }
  done
}
check "the man pages corsair.1, corsair-broker.1, corsair-worker.1 (gzipped) in /usr/share/man/man1" check_man_pages

# --- the services, as their units start them -------------------------------------------------
# One setting of an installed unit: its last Key= line, with %i, %S and %% expanded as systemd
# would for `instance`. Refuses what this emulation does not do (prefixes, quotes, $VARIABLES).
unit_setting() {
  local unit="$1" key="$2" instance="$3" value
  value="$(sed -n "s/^$key=//p" "$root/usr/lib/systemd/system/$unit" | tail -n 1)"
  [ -n "$value" ] || { echo "$unit has no $key=" >&2; return 1; }
  if [[ "$value" =~ ^[-@+!:] || "$value" == *[\"\'\$\\]* ]]; then
    echo "$unit: $key=$value uses what this test does not emulate" >&2
    return 1
  fi
  value="${value//%i/$instance}"
  value="${value//%S//var/lib}"
  value="${value//%%/%}"
  [[ "$value" != *%* ]] || { echo "$unit: $key=$value has a specifier this test does not expand" >&2; return 1; }
  printf '%s\n' "$value"
}

# Prints the command line that runs a unit's ExecStart= as its User= and Group=, in its
# WorkingDirectory= with its UMask= (when it has one), through chroot, setpriv and sh, which
# all exec: the PID started is the program's. Extra VAR=value arguments go to its environment.
unit_command() {
  local unit="$1" instance="$2" line user group directory umask
  local -a exec_start
  shift 2
  line="$(unit_setting "$unit" ExecStart "$instance")" || return 1
  # Words split at blanks, as systemd does for a line without quotes (unit_setting refuses those).
  read -r -a exec_start <<<"$line"
  user="$(unit_setting "$unit" User "$instance")" || return 1
  group="$(unit_setting "$unit" Group "$instance")" || return 1
  directory="$(unit_setting "$unit" WorkingDirectory "$instance")" || return 1
  umask="$(unit_setting "$unit" UMask "$instance" 2>/dev/null)" || umask=0022
  # What StateDirectory= makes before the start: the folder, owned by the unit's user.
  if [[ "$directory" == /var/lib/* ]] && [ ! -d "$root$directory" ]; then
    in_root install -d -o "$user" -g "$group" -m 0755 "$directory"
  fi
  printf '%s\0' chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
    LANG=C.UTF-8 HOME="$(in_root getent passwd "$user" | cut -d: -f6)" USER="$user" LOGNAME="$user" "$@" \
    /usr/bin/setpriv --reuid="$user" --regid="$group" --init-groups \
    /bin/sh -c 'cd "$1" && umask "$2" && shift 2 && exec "$@"' "$unit" "$directory" "$umask" "${exec_start[@]}"
}

# SIGTERM, then at most `seconds` for the process to exit (both drain); passes if it exits 0.
# In this shell, not in check's subshell: only the parent can reap the child.
check_stops() {
  local name="$1" pid="$2" seconds="$3" deadline status=0
  kill -TERM "$pid"
  deadline=$((SECONDS + seconds))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      failed "$name exits 0 within $seconds s of SIGTERM" "still running"
      return
    fi
    sleep 0.1
  done
  wait "$pid" || status=$?
  if [ "$status" -eq 0 ]; then
    pass "$name exits 0 within $seconds s of SIGTERM"
  else
    failed "$name exits 0 within $seconds s of SIGTERM" "exit status $status: $(tail -n 5 "$log/${name#the }.log")"
  fi
}

# The chroot's corsair uid, against the real one of a process (the host names uids otherwise).
runs_as_corsair() {
  local uid
  uid="$(in_root id -u corsair)"
  echo "uid of corsair: $uid; $(grep '^Uid:' "/proc/$1/status")"
  grep -q "^Uid:[[:space:]]*${uid}[[:space:]]" "/proc/$1/status"
}

payload="corsair-deb-test-$RANDOM$RANDOM"
run_services() {
  local -a broker worker
  mapfile -d '' broker < <(unit_command corsair-broker.service "" \
    'CORSAIR_PRODUCERS=tcp://127.0.0.1:*' 'CORSAIR_WORKERS=tcp://127.0.0.1:*' CORSAIR_HTTP=127.0.0.1:0)
  ((${#broker[@]})) || fatal "reads corsair-broker.service's ExecStart=, User=, WorkingDirectory="
  say "broker: ${broker[*]:2}"
  coproc BROKER { exec "${broker[@]}" 2>"$log/broker.log"; }
  # shellcheck disable=SC2153 # BROKER_PID: set by coproc
  local broker_pid="$BROKER_PID" ready=""
  pids+=("$broker_pid")
  read -r -t 30 ready <&"${BROKER[0]}" ||
    fatal "the broker prints its ready line" "nothing within 30 s: $(tail -n 10 "$log/broker.log")"
  [[ "$ready" == "corsair-broker ready "* ]] || fatal "the broker prints its ready line" "it printed: $ready"
  pass "the broker runs as its unit says, with CORSAIR_* over broker.toml: $ready"
  local producers workers
  producers="${ready#*producers=}"; producers="${producers%% *}"
  workers="${ready#*workers=}"; workers="${workers%% *}"
  check "the broker runs as the user corsair" runs_as_corsair "$broker_pid"

  mapfile -d '' worker < <(unit_command corsair-worker@.service example "CORSAIR_WORKER_ENDPOINT=$workers")
  ((${#worker[@]})) || fatal "reads corsair-worker@.service's ExecStart=, User=, WorkingDirectory="
  say "worker: ${worker[*]:2}"
  "${worker[@]}" >"$log/worker.out" 2>"$log/worker.log" &
  local worker_pid=$!
  pids+=("$worker_pid")

  # The job waits in queue example until the worker has joined; --wait-timeout bounds the wait
  # for a silent broker and timeout the rest.
  local result status=0
  result="$(timeout 60 chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
              corsair submit example "$payload" --wait --broker "$producers" 2>"$log/submit.log")" || status=$?
  if [ "$status" -eq 0 ] && [ "$result" = "$payload" ]; then
    pass "corsair submit example $payload --wait: the worker's /bin/cat gave the payload back"
  else
    failed "corsair submit example ... --wait gives the payload back" \
      "exit $status, result '$result'; $(tail -n 5 "$log/submit.log"); worker: $(tail -n 5 "$log/worker.log")"
  fi

  check_stops "the worker" "$worker_pid" 30
  check_stops "the broker" "$broker_pid" 30
  pids=()
}
run_services

check_journal() {
  local journal="/var/lib/corsair/journal.log" stat
  [ -s "$root$journal" ] || { echo "$journal is missing or empty"; ls -la "$root/var/lib/corsair"; return 1; }
  stat="$(in_root stat -c '%U:%G %a' "$journal")"
  echo "$journal: $stat, $(stat -c %s "$root$journal") bytes"
  # UMask=0027: other users cannot read the jobs.
  [ "$stat" = "corsair:corsair 640" ] && grep -qaF "$payload" "$root$journal"
}
check "the broker journaled the job in /var/lib/corsair/journal.log (corsair:corsair 0640)" check_journal

# --- a reinstall keeps an edited conffile ------------------------------------------------------
edit="# edited by deb_chroot_test"
echo "$edit" >>"$root/etc/corsair/broker.toml"
check_reinstall() {
  in_root dpkg -i "/tmp/$deb_name" >"$log/reinstall.log" 2>&1 || { cat "$log/reinstall.log"; return 1; }
  tail -n 1 "$root/etc/corsair/broker.toml" | grep -qxF "$edit" || { echo "the edit is gone"; return 1; }
  [ "$(in_root stat -c '%U:%G %a' /var/lib/corsair)" = "corsair:corsair 750" ]
}
check "dpkg -i of the same package again keeps the edit of /etc/corsair/broker.toml" check_reinstall

# --- purge -----------------------------------------------------------------------------------
# Every path of the package must be gone, but folders another package also owns (/usr/bin).
check_nothing_left() {
  local path left=0
  while IFS= read -r path; do
    [ "$path" != /. ] || continue
    [ -e "$root$path" ] || [ -L "$root$path" ] || continue
    if [ -d "$root$path" ] && in_root dpkg-query -S "$path" >/dev/null 2>&1; then
      continue
    fi
    echo "left behind: $path"
    left=1
  done <"$log/package-files.txt"
  [ ! -e "$root/etc/corsair" ] || { echo "/etc/corsair is still there"; left=1; }
  [ "$(in_root dpkg-query -W -f='${db:Status-Status}' corsair 2>/dev/null)" != installed ] || { echo "still installed"; left=1; }
  return "$left"
}

in_root dpkg -L corsair >"$log/package-files.txt"
in_root apt-get purge -y corsair >"$log/purge.log" 2>&1 || fatal "apt-get purge -y corsair" "$(tail -n 20 "$log/purge.log")"
check "apt-get purge -y corsair leaves none of its $(wc -l <"$log/package-files.txt") paths, and no /etc/corsair" check_nothing_left
check_journal_kept() {
  [ -s "$root/var/lib/corsair/journal.log" ] || { echo "the journal is gone"; return 1; }
  grep -q "/var/lib/corsair is kept" "$log/purge.log" || { echo "the purge did not say so"; return 1; }
  [ ! -e "$root/var/lib/corsair-worker" ] || { echo "/var/lib/corsair-worker (empty) is still there"; return 1; }
}
check "the purge keeps /var/lib/corsair, which holds a journal, says so, and removes the workers' empty folders" check_journal_kept
check "the purge leaves the user corsair, as Debian's packages do" in_root getent passwd corsair

# Again, with the journal gone: install over what the first purge left, purge, and nothing stays.
check_second_purge() {
  rm -f "$root/var/lib/corsair/journal.log"
  in_root apt-get install -y "/tmp/$deb_name" >"$log/install-2.log" 2>&1 || { tail -n 20 "$log/install-2.log"; return 1; }
  in_root apt-get purge -y corsair >"$log/purge-2.log" 2>&1 || { tail -n 20 "$log/purge-2.log"; return 1; }
  [ ! -e "$root/var/lib/corsair" ] || { echo "/var/lib/corsair is still there: $(ls -A "$root/var/lib/corsair")"; return 1; }
}
check "installed again and purged without a journal: /var/lib/corsair is removed" check_second_purge
