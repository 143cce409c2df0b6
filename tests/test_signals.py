"""SIGTERM during `verify` is handled like Ctrl-C: the emulator is killed, the temporary folder removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain

FAKE_QEMU = """#!/bin/sh
echo $$ > "$FAKE_QEMU_PID"
exec sleep 300
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@needs_toolchain
@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_verify_kills_qemu_and_removes_temporary_folder(tmp_path, signum, status) -> None:
    bin_dir, tmp_dir, pid_file = tmp_path / "bin", tmp_path / "tmp", tmp_path / "qemu.pid"
    bin_dir.mkdir()
    tmp_dir.mkdir()
    qemu = bin_dir / "qemu-system-arm"
    qemu.write_text(FAKE_QEMU)
    qemu.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(tmp_dir),
           "FAKE_QEMU_PID": str(pid_file), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tinyc.cli", "verify", str(REPO / "tests" / "data" / "golden_tiny.tflite"),
                             "--board", "stm32f412", "-n", "1", "--emulator", "qemu"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the firmware was not built and run in time"
            time.sleep(0.2)
        qemu_pid = int(pid_file.read_text())
        assert sorted(p.name.split("-")[1] for p in tmp_dir.iterdir()) == ["verify"]  # tinyc-verify-*
        proc.send_signal(signum)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pid_file.exists() and pid_file.read_text().strip() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)  # the fake QEMU this test started, if left over
    assert proc.returncode == status
    assert not _alive(qemu_pid)
    assert list(tmp_dir.iterdir()) == []
