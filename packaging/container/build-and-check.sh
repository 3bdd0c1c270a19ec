#!/usr/bin/env bash
# Builds Corsair's container image with buildah and checks it (docs/container.md): the base image
# from debootstrap if it is missing, the image from packaging/container/Containerfile, its size,
# the packages its runtime layer adds, then check_image.py runs it as containers: the broker's
# default command, workers, `corsair submit --wait`, HTTP, SIGTERM, a restart on its volume.
# Needs root, buildah, debootstrap and /usr/bin/python3; podman (with runc), or unshare and chroot.
#
# Not part of CI (.ci/run, tests/run.sh): the build stage downloads its packages and compiles the
# tree from scratch, 8 to 25 minutes on 2 cores (docs/container.md, Figures). --layers keeps the
# build stage's package layer, so a run after a source change compiles again but does not
# download again.
#
#   bash packaging/container/build-and-check.sh [--tag NAME] [--no-build] [--runtime KIND] [--keep]
#
#   --tag NAME      the image's name (default localhost/corsair:VERSION, VERSION from CMakeLists.txt)
#   --no-build      check the image NAME as it is
#   --runtime KIND  how to run it: podman, chroot (its exported root filesystem, for where no
#                   runtime works), both, or auto (default): podman if it runs the base image here
#                   with its default flags or with the ones this sandbox needs (below), else chroot
#   --keep          keep the scratch folder (logs, the OCI archive, the test keys) and say where
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/../.." && pwd)"
version="$(sed -n 's/^project(corsair VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")"
tag="localhost/corsair:$version"
build=true
keep=false
runtime=auto
while (($#)); do
  case "$1" in
    --tag) tag="${2:?--tag needs a name}"; shift ;;
    --no-build) build=false ;;
    --runtime) runtime="${2:?--runtime needs podman, chroot, both or auto}"; shift ;;
    --keep) keep=true ;;
    *) echo "usage: build-and-check.sh [--tag NAME] [--no-build] [--runtime podman|chroot|both|auto] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
buildah=(buildah --storage-driver "${CORSAIR_BUILDAH_STORAGE:-vfs}")
base_image="localhost/corsair-debian:12"

fail() {
  echo "container image check: FAIL: $*"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, buildah mount, unshare, chroot)"
for tool in buildah debootstrap /usr/bin/python3; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install buildah debootstrap)"
done

# The build stage's package list must keep up with .ci/setup's (less catch2: no tests here), or
# the image's configure fails halfway through a long build.
/usr/bin/python3 - "$top/.ci/setup" "$here/Containerfile" <<'EOF' || fail "the Containerfile's build packages are behind .ci/setup"
import re, sys
setup = open(sys.argv[1]).read().split("\nwhile ")[0]
wanted = {p for group in re.findall(r"packages\+?=\(([^)]*)\)", setup) for p in group.split()} - {"catch2"}
stage = open(sys.argv[2]).read().split("\nFROM ")[1]
listed = set(stage.split("--no-install-recommends", 1)[1].split("&&", 1)[0].replace("\\", " ").split())
missing = sorted(wanted - listed)
if missing:
    print("packaging/container/Containerfile: the build stage lacks " + " ".join(missing) + " (named in .ci/setup)")
    sys.exit(1)
EOF

scratch="$(mktemp -d /var/tmp/corsair-image-check.XXXXXX)"
container=""
cleanup() {
  if [ -n "$container" ]; then
    "${buildah[@]}" umount "$container" >/dev/null 2>&1 || true
    "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true
  fi
  if $keep; then echo "scratch kept: $scratch"; else rm -rf --one-file-system "$scratch"; fi
}
trap cleanup EXIT

if $build; then
  bash "$here/make-base-image.sh" --image "$base_image" || fail "no base image"
  echo "building $tag (log: $scratch/build.log)"
  started=$SECONDS
  if ! nice -n 10 "${buildah[@]}" bud --isolation chroot --layers -f "$here/Containerfile" \
         --build-arg BASE_IMAGE="$base_image" --build-arg VERSION="$version" -t "$tag" "$top" >"$scratch/build.log" 2>&1; then
    tail -n 40 "$scratch/build.log"
    keep=true
    fail "buildah bud failed"
  fi
  build_seconds=$((SECONDS - started))
  echo "built in $((build_seconds / 60)) min $((build_seconds % 60)) s"
  grep -m1 '^runtime packages:' "$scratch/build.log" || true
fi

"${buildah[@]}" images "$tag"
nice -n 10 "${buildah[@]}" push --quiet "$tag" "oci-archive:$scratch/corsair.oci.tar" >/dev/null
echo "OCI archive (layers gzip-compressed): $(du -h --apparent-size "$scratch/corsair.oci.tar" | cut -f1)"

container="$("${buildah[@]}" from --pull-never --quiet "$tag")"
rootfs="$("${buildah[@]}" mount "$container")"
base_container="$("${buildah[@]}" from --pull-never --quiet "$base_image")"
base_rootfs="$("${buildah[@]}" mount "$base_container")"
echo "packages the runtime stage adds to the base: $(comm -13 \
  <(dpkg-query --admindir="$base_rootfs/var/lib/dpkg" -W -f '${Package}\n' | sort) \
  <(dpkg-query --admindir="$rootfs/var/lib/dpkg" -W -f '${Package}\n' | sort) | tr '\n' ' ')"
"${buildah[@]}" rm "$base_container" >/dev/null

# podman's defaults fail in this sandbox: crun refuses cgroup v1 in hybrid mode ("cgroups in
# hybrid mode not supported"), with --cgroups=disabled too, and runc refuses --cgroups=disabled;
# its default rlimits (nofile, nproc) are above what the sandbox lets a process raise to. runc
# with the cgroupfs manager and lower rlimits runs.
podman_default=(podman --storage-driver "${CORSAIR_BUILDAH_STORAGE:-vfs}")
podman_sandbox=("${podman_default[@]}" --runtime runc --cgroup-manager cgroupfs)
sandbox_run_flags="--ulimit nofile=20000:20000 --ulimit nproc=4096:4096"
podman_flags=""
if [ "$runtime" = auto ] || [ "$runtime" = podman ] || [ "$runtime" = both ]; then
  if ! command -v podman >/dev/null; then
    echo "podman is not installed (apt-get install podman runc)"
  elif timeout 60 "${podman_default[@]}" run --rm --network none "$base_image" true >/dev/null 2>&1; then
    podman_flags="default"
  elif timeout 60 "${podman_sandbox[@]}" run --rm --network none $sandbox_run_flags "$base_image" true >/dev/null 2>&1; then
    podman_flags="sandbox"
  else
    echo "podman cannot run a container here, with its defaults or with: ${podman_sandbox[*]:1} run $sandbox_run_flags"
  fi
fi
case "$runtime:$podman_flags" in
  auto:) runtime=chroot ;;
  auto:*) runtime=podman ;;
  podman:|both:) fail "--runtime $runtime: podman does not run here" ;;
esac

status=0
if [ "$runtime" = podman ] || [ "$runtime" = both ]; then
  mkdir "$scratch/podman"
  if [ "$podman_flags" = default ]; then
    export CORSAIR_PODMAN="${podman_default[*]}" CORSAIR_PODMAN_RUN_FLAGS=""
  else
    export CORSAIR_PODMAN="${podman_sandbox[*]}" CORSAIR_PODMAN_RUN_FLAGS="$sandbox_run_flags"
  fi
  echo "running the image with: $CORSAIR_PODMAN run $CORSAIR_PODMAN_RUN_FLAGS (logs: $scratch/podman)"
  timeout 900 /usr/bin/python3 "$here/check_image.py" podman "$tag" "$scratch/podman" || status=1
fi
if [ "$runtime" = chroot ] || [ "$runtime" = both ]; then
  for tool in unshare chroot nsenter; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
  mkdir "$scratch/chroot"
  "${buildah[@]}" inspect --type image "$tag" >"$scratch/inspect.json"
  echo "running the image's programs from its root filesystem with chroot (logs: $scratch/chroot)"
  timeout 900 unshare --net --mount /usr/bin/python3 "$here/check_image.py" chroot "$rootfs" "$scratch/inspect.json" \
    "$scratch/chroot" || status=1
fi
if [ "$status" -eq 0 ]; then
  echo "container image check: PASS ($tag, $runtime)"
else
  keep=true
  fail "see above and the logs in $scratch"
fi
