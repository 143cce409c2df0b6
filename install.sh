#!/usr/bin/env bash
# Installs everything tinyc needs on a Debian machine: the Arm toolchain and QEMU (apt, as root or via
# sudo), then tinyc itself with its pinned Python dependencies (pip, editable, with the test extras).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packages=$(grep -v '^#' "$here/docker/apt-packages.txt" | xargs)
missing=""
for p in $packages; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check -e "$here[dev]"
# Without their declared dependencies (pyproject.toml's `lstm` and `onnx` extras say why): Keras 2 for LSTM models,
# on the tensorflow-cpu above (its declared `tensorflow` dependency is the same module), and onnx2tf for .onnx models.
nodeps=$(python3 -c "import tomllib; e = tomllib.load(open('$here/pyproject.toml', 'rb'))['project']['optional-dependencies']; print(' '.join(e['lstm'] + e['onnx']))")
python3 -m pip install -q --disable-pip-version-check --no-deps $nodeps
echo "tinyc installed: $(command -v tinyc)"
