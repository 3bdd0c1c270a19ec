#!/usr/bin/env bash
# Makes the Debian 12 base image both stages of packaging/container/Containerfile start FROM,
# without a container registry: debootstrap (minbase) from Debian's mirror, the bookworm-updates
# and bookworm-security updates applied, trimmed as Debian's own "slim" images are, then copied
# into buildah's storage as localhost/corsair-debian:12. Needs root, debootstrap and buildah
# (apt-get install debootstrap buildah). Safe to run again: an existing image is kept unless
# --force is given, and --force is how the base takes in newer security updates.
#
#   bash packaging/container/make-base-image.sh [--force] [--image NAME]
#
# CORSAIR_DEBIAN_MIRROR (default http://deb.debian.org/debian) and CORSAIR_DEBIAN_SECURITY_MIRROR
# (default http://deb.debian.org/debian-security) name the mirrors; CORSAIR_BUILDAH_STORAGE the
# storage driver (default vfs, as in docs/container.md).
set -euo pipefail

image="localhost/corsair-debian:12"
force=false
while (($#)); do
  case "$1" in
    --force) force=true ;;
    --image) image="${2:?--image needs a name}"; shift ;;
    *) echo "usage: make-base-image.sh [--force] [--image NAME]" >&2; exit 2 ;;
  esac
  shift
done

mirror="${CORSAIR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security_mirror="${CORSAIR_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
buildah=(buildah --storage-driver "${CORSAIR_BUILDAH_STORAGE:-vfs}")

if [ "$(id -u)" -ne 0 ]; then
  echo "make-base-image: debootstrap and buildah mount need root" >&2
  exit 2
fi
for tool in debootstrap buildah; do
  command -v "$tool" >/dev/null || { echo "make-base-image: $tool is missing (apt-get install $tool)" >&2; exit 2; }
done

if ! $force && "${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1; then
  echo "make-base-image: $image exists (--force makes it again)"
  exit 0
fi

scratch="$(mktemp -d /var/tmp/corsair-base.XXXXXX)"
container=""
cleanup() {
  if [ -n "$container" ]; then "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true; fi
  rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT
root="$scratch/root"

echo "make-base-image: debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  bookworm "$root" "$mirror" >"$scratch/debootstrap.log" 2>&1 \
  || { tail -n 30 "$scratch/debootstrap.log" >&2; exit 1; }

rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# What debuerreotype does for Debian's -slim images: no documentation, manuals or translations
# (copyright files stay), through dpkg for every install from now on, and removed below from
# what debootstrap installed.
cat >"$root/etc/dpkg/dpkg.cfg.d/corsair-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF

# No service may start inside an image build (invoke-rc.d asks this file).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

echo "make-base-image: applying bookworm-updates and bookworm-security"
# A mount namespace of its own, so /proc is unmounted with it whatever happens.
unshare --mount --fork sh -c '
  set -e
  mount -t proc proc "$1/proc"
  chroot "$1" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get -qq -y upgrade
  chroot "$1" apt-get clean
' sh "$root" >"$scratch/upgrade.log" 2>&1 || { tail -n 30 "$scratch/upgrade.log" >&2; exit 1; }
find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{groff,info,linda,locale,man}/* "$root"/usr/share/lintian/overrides/*
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
       "$root"/var/lib/dpkg/*-old "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.bash_history
# The runtime makes /dev, /proc and /sys in every container; the image leaves them empty.
rm -rf "$root"/dev/* "$root"/proc/* "$root"/sys/*
# Each container gets its own hostname and machine id; a shared one would confuse logs.
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname"

echo "make-base-image: importing into buildah as $image"
container="$("${buildah[@]}" from scratch)"
mountpoint="$("${buildah[@]}" mount "$container")"
cp -a "$root/." "$mountpoint/"
"${buildah[@]}" umount "$container" >/dev/null
"${buildah[@]}" config --os linux --arch amd64 \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd /bin/bash \
  --label org.opencontainers.image.title="Debian 12 (bookworm) minbase for Corsair" \
  --created-by "packaging/container/make-base-image.sh: debootstrap --variant=minbase bookworm $mirror" \
  "$container"
"${buildah[@]}" commit --rm "$container" "$image" >/dev/null
container=""
"${buildah[@]}" images "$image"
