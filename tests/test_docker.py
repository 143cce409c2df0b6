"""The Docker regression, as CI runs it: docker/run-regression.sh for one small model x both boards.

The script installs docker.io/debootstrap if missing, starts dockerd if none answers (and stops it), builds the
base image by debootstrap and the tinyc image, and runs the QEMU regression in the container with --network none.
Skipped, with the script's reason, only when the Docker daemon cannot start (exit status 77) or when neither root
nor sudo is available to start it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SCRIPT = REPO / "docker" / "run-regression.sh"
SKIPPED = 77
TIMEOUT_S = 20 * 60


def test_docker_regression_one_model_both_boards() -> None:
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("docker/run-regression.sh needs root or sudo to install and start Docker")
    proc = subprocess.run([str(SCRIPT), "--models", "tiny_dscnn", "--boards", "stm32f412", "stm32h743",
                           "--samples", "2"], capture_output=True, text=True, timeout=TIMEOUT_S)
    output = proc.stdout + proc.stderr
    if proc.returncode == SKIPPED:
        pytest.skip(f"the Docker daemon could not start: {output.strip()[-600:]}")
    assert proc.returncode == 0, output[-4000:]
    for board in ("stm32f412", "stm32h743"):
        assert f"PASS qemu   tiny_dscnn on {board}: 2 samples bit-exact vs tflite-micro" in proc.stdout, output[-4000:]
    assert "regression: passed (0 failures, 0 unverified" in proc.stdout
