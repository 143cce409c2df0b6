"""Shared fixtures: tiny Keras models converted once per session to int8 .tflite files."""

from __future__ import annotations

import os
import tempfile
import zlib
import shutil
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# A conversion cache of this test process's own: hermetic (a model file's output on its first conversion is seen
# again on every run), and still shared by the tests that convert the same zoo model.
os.environ["TINYC_CACHE_DIR"] = tempfile.mkdtemp(prefix="tinyc-test-cache-")
# A kernel archive cache of this test run's own, shared by its xdist workers (they run one test run, one id): each
# (CPU, kernel defines) archive is compiled once per run, and no test reads an archive an earlier run left.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
os.environ["TINYC_KERNEL_CACHE_DIR"] = (os.path.join(tempfile.gettempdir(), f"tinyc-test-kernels-{_RUN}") if _RUN
                                        else tempfile.mkdtemp(prefix="tinyc-test-kernels-"))

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
BOARDS = ("stm32f412", "stm32h743")

needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="arm-none-eabi-gcc and qemu-system-arm are needed (apt-get install -y gcc-arm-none-eabi "
           "libnewlib-arm-none-eabi qemu-system-arm)")


def run_cli(monkeypatch, capsys, *args: str, progress: bool = False) -> tuple[int, str, str]:
    """Run `tinyc ARGS` in this process: exit status, stdout, and stderr with white space folded (without the progress
    lines of slow steps, whose presence depends on the machine's load, unless `progress`)."""
    import sys

    from tinyc.cli import main
    monkeypatch.setattr(sys, "argv", ["tinyc", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    from tinyc.progress import Step
    progress_lines = tuple(f"tinyc: {s.value}:" for s in Step)
    err = "\n".join(line for line in captured.err.splitlines() if progress or not line.startswith(progress_lines))
    return code, captured.out, " ".join(err.split())


def representative_for(model, count: int = 16, seed: int = 7):
    shapes = [(1, *tuple(t.shape)[1:]) for t in model.inputs]
    def generate():
        rng = np.random.default_rng(seed)
        for _ in range(count):
            yield [rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]
    return generate


def to_tflite(model, path: Path) -> Path:
    from tinyc.frontend.convert import keras_to_int8_tflite
    path.write_bytes(keras_to_int8_tflite(model, representative_for(model)))
    return path


@pytest.fixture(scope="session")
def tflite_of(tmp_path_factory) -> Callable[[str, Callable[[], object]], Path]:
    """Convert a Keras model (built by a zero-argument function) once per session, by name."""
    folder = tmp_path_factory.mktemp("tflite")
    cache: dict[str, Path] = {}
    def make(name: str, build: Callable[[], object]) -> Path:
        if name not in cache:
            import keras
            keras.utils.set_random_seed(zlib.crc32(name.encode()))
            cache[name] = to_tflite(build(), folder / f"{name}.tflite")
        return cache[name]
    return make


@pytest.fixture(autouse=True)
def _emulator_runs_only_in_emulator_tests(request, monkeypatch) -> None:
    """`pytest -m "not emulator"` must run no emulator: a test that starts QEMU or Renode through tinyc without
    the `emulator` marker fails here, naming itself."""
    if request.node.get_closest_marker("emulator") is not None:
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} runs an emulator but is not marked @pytest.mark.emulator")

    import tinyc.run.qemu
    import tinyc.run.renode
    monkeypatch.setattr(tinyc.run.qemu, "qemu_output", refuse)
    monkeypatch.setattr(tinyc.run.renode, "renode_command", refuse)
