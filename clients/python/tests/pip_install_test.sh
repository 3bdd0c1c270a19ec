#!/usr/bin/env bash
# The Python client installs with pip from the checkout, as docs/python.md says: into a fresh
# venv that sees Debian's python3-zmq and python3-msgpack (--system-site-packages), with no
# package index (nothing downloaded), from a copy of clients/python so the checkout stays clean.
# Then, from outside the checkout, the installed package imports from the venv and its Producer
# and Worker exist.
# usage: pip_install_test.sh PYTHON SOURCE_DIR SCRATCH_DIR
set -euo pipefail
python="$1" source="$2" scratch="$3"
rm -rf "$scratch"
mkdir -p "$scratch"
cp -r "$source" "$scratch/src"
rm -rf "$scratch/src/build" "$scratch/src/corsair.egg-info"
"$python" -m venv --system-site-packages "$scratch/venv"
# --no-build-isolation: setuptools comes from Debian (python3-setuptools), not from an index.
PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$scratch/venv/bin/pip" install --quiet --no-build-isolation "$scratch/src"
cd "$scratch"
"$scratch/venv/bin/python" - "$scratch/venv" <<'PY'
import os, sys
import corsair
venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(corsair.__file__)
if not where.startswith(venv + os.sep):
    sys.exit(f"pip_install_test: corsair imported from {where}, not from the venv {venv}")
for name in ("Producer", "Worker"):
    if not hasattr(corsair, name):
        sys.exit(f"pip_install_test: the installed corsair has no {name}")
print(f"pip_install_test: corsair installed in {where}")
PY
"$scratch/venv/bin/pip" show corsair >"$scratch/pip-show.txt"
grep -q '^Version: ' "$scratch/pip-show.txt"
