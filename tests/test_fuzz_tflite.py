"""Mutated .tflite files (byte flips, truncation, field edits) give a clean TinycError or a model that reads,
lowers and plans: never another exception, never a hang. Seeded and bounded for CI; scripts/fuzz_tflite.py
runs longer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from tinyc.errors import ModelFormatError
from tinyc.run.fuzzing import Mutant, fuzz, run_case

DATA = REPO / "tests" / "data"
# tests/data/fuzz/*.tflite: tests/models_for_tests.py's add_relu, pools, dscnn_style and padded_stage, converted once
# with conftest.to_tflite after keras.utils.set_random_seed(zlib.crc32(b"fuzz_<name>")) and kept (2-9 KB each).
# Small int8 models covering every op kind tinyc lowers: PAD, CONV_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX (golden),
# ADD, RELU (add_relu), AVERAGE/MAX_POOL_2D, CONCATENATION, MEAN (pools), DEPTHWISE_CONV_2D (dscnn, padded).
FILES = [DATA / "golden_tiny.tflite", *sorted((DATA / "fuzz").glob("*.tflite"))]
CI_CASES = 600
CI_SEED = 20261127
CI_BUDGET_S = 60


def test_corpus_reads_and_plans() -> None:
    assert len(FILES) == 5
    for path in FILES:
        outcome = run_case(Mutant(path.name, "none", path.read_bytes()))
        assert outcome.result == "planned", outcome.message


def test_fuzz_mutants_fail_cleanly() -> None:
    started = time.monotonic()
    summary = fuzz(FILES, CI_CASES, CI_SEED, timeout_s=10.0, auto_every=10)
    elapsed = time.monotonic() - started
    report = "\n\n".join(f"{o.result} on {o.mutant.source}, {o.mutant.mutation}:\n{o.message}" for o in summary.bad)
    assert not summary.bad, f"{len(summary.bad)} of {CI_CASES} mutants crashed or hung:\n{report}"
    results = {o.result for o in summary.outcomes}
    assert {"planned", "ModelFormatError"} <= results  # the mutations reach both sides
    assert elapsed < CI_BUDGET_S


def _edit(data: bytes, pos: int, value: bytes) -> bytes:
    return data[:pos] + value + data[pos + len(value):]


def _read_error(data: bytes) -> str:
    from tinyc.ir.reader import read_tflite
    with pytest.raises(ModelFormatError) as info:
        read_tflite(data)
    return str(info.value)


GOLDEN = (DATA / "golden_tiny.tflite").read_bytes()


def _positions():
    from tinyc.ir.tflite_flatbuffer import parse_model
    return parse_model(GOLDEN)


def test_truncated_file() -> None:
    half = GOLDEN[:len(GOLDEN) // 2]
    assert _read_error(half) == ("not a valid .tflite file (1,952 bytes): model > operator_codes: a vector length at "
                                 "byte 3,732 (4 bytes) lies outside the file (the file is truncated or corrupt)")


def test_not_a_flatbuffer() -> None:
    assert _read_error(b"not a flatbuffer at all") == (
        "not a valid .tflite file (23 bytes): header: file identifier is b'a fl', not b'TFL3': this is not a "
        "TFLite flatbuffer")


def test_opcode_index_out_of_range() -> None:
    op = _positions()["subgraphs"][0]["operators"][1]
    data = _edit(GOLDEN, op.positions["opcode_index"], (9).to_bytes(4, "little"))
    assert _read_error(data) == "invalid .tflite model: op 1 has opcode index 9, but the model has 8 operator codes"


def test_buffer_index_out_of_range() -> None:
    tensor = _positions()["subgraphs"][0]["tensors"][7]  # the conv's weights
    data = _edit(GOLDEN, tensor.positions["buffer"], (77).to_bytes(4, "little"))
    assert _read_error(data) == ("invalid .tflite model: tensor 'functional_1/conv2d_1/convolution' (index 7) refers "
                                 "to buffer 77, but the model has 19 buffers")


def test_tensor_index_out_of_range() -> None:
    op = _positions()["subgraphs"][0]["operators"][1]
    data = _edit(GOLDEN, op.positions["inputs.start"] + 4, (40).to_bytes(4, "little"))
    assert _read_error(data) == ("invalid .tflite model: op 1 (CONV_2D): input 1 is tensor index 40, but the "
                                 "subgraph has 16 tensors")


def test_weight_buffer_shorter_than_shape() -> None:
    tensor = _positions()["subgraphs"][0]["tensors"][7]  # the conv's weights (4, 3, 3, 3)
    data = _edit(GOLDEN, tensor.positions["shape.start"], (5).to_bytes(4, "little"))
    assert _read_error(data) == ("invalid .tflite model: tensor 'functional_1/conv2d_1/convolution' (index 7): "
                                 "buffer 8 holds 108 bytes, but its shape (5, 3, 3, 3) of int8 needs 135")


CONV_OUT = "'functional_1/conv2d_1/convolution1' (index 9)"  # the conv's output, (1, 4, 2, 4)


def test_output_shape_inconsistent_with_weights() -> None:
    tensor = _positions()["subgraphs"][0]["tensors"][9]
    data = _edit(GOLDEN, tensor.positions["shape.start"] + 4, (5).to_bytes(4, "little"))
    assert _read_error(data) == (
        "invalid .tflite model: op 1 (CONV_2D), layer 'functional_1/conv2d_1/convolution1': output "
        "'functional_1/conv2d_1/convolution1' has shape (1, 5, 2, 4); input (1, 9, 6, 3) and filter (4, 3, 3, 3) give "
        "(1, 4, 2, 4) (the rule: Input, filter and output are 4-D; the filter's input channels match the input's; the "
        "output has the filter's output channels, the input's batch, and the height and width that input, filter, "
        "stride, dilation and padding give; the bias has one value per output channel.)")


def test_dimension_of_2_to_the_31_elements() -> None:
    tensor = _positions()["subgraphs"][0]["tensors"][9]
    data = _edit(GOLDEN, tensor.positions["shape.start"] + 4, (2 ** 30).to_bytes(4, "little"))
    assert _read_error(data) == (
        f"invalid .tflite model: tensor {CONV_OUT} has shape (1, 1073741824, 2, 4), 8,589,934,592 elements; "
        "TFLite tensors hold fewer than 2^31")


def test_negative_dimension() -> None:
    tensor = _positions()["subgraphs"][0]["tensors"][9]
    data = _edit(GOLDEN, tensor.positions["shape.start"] + 4, (-3).to_bytes(4, "little", signed=True))
    assert _read_error(data) == (
        f"invalid .tflite model: tensor {CONV_OUT} has a negative dimension in its shape (1, -3, 2, 4)")


def test_int8_tensor_without_quantization() -> None:
    quant = _positions()["subgraphs"][0]["tensors"][9]["quantization"]
    data = _edit(GOLDEN, quant.positions["scale.length"], (0).to_bytes(4, "little"))
    assert _read_error(data) == (
        f"invalid .tflite model: tensor {CONV_OUT} is int8 but has no quantization parameters (scale, zero point); "
        "int8 tensors need them: convert with full-integer quantization and a representative dataset")


def test_cli_names_the_file(monkeypatch, capsys, tmp_path) -> None:
    from conftest import run_cli
    path = tmp_path / "cut.tflite"
    path.write_bytes(GOLDEN[:1000])
    code, _, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {path}: not a valid .tflite file (1,000 bytes): model > operator_codes: a vector length "
                   "at byte 3,732 (4 bytes) lies outside the file (the file is truncated or corrupt)")


def test_reader_does_not_import_tensorflow() -> None:
    code = ("import sys; from tinyc.ir.reader import read_tflite, without_final_softmax; "
            f"data = open({str(DATA / 'golden_tiny.tflite')!r}, 'rb').read(); read_tflite(data); "
            "read_tflite(without_final_softmax(data)); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "[]"


def test_without_final_softmax_keeps_everything_else() -> None:
    from tinyc.ir.reader import read_tflite, without_final_softmax
    full, prefix = read_tflite(GOLDEN), read_tflite(without_final_softmax(GOLDEN))
    assert [op.opcode_name for op in prefix.ops] == [op.opcode_name for op in full.ops][:-1]
    assert prefix.outputs == full.ops[-1].inputs[:1]


def test_without_final_softmax_runs_in_tflite_micro() -> None:
    """The in-place patch is a valid model: TFLM's output is the full model's logits tensor."""
    import numpy as np

    from tinyc.run.oracle import tflm_outputs, tflm_tensors
    from tinyc.ir.reader import read_tflite, without_final_softmax
    prefix = without_final_softmax(GOLDEN)
    assert prefix is not None
    logits = read_tflite(GOLDEN).ops[-1].inputs[0]
    sample = np.random.default_rng(3).integers(-128, 128, size=(1, 6, 5, 3)).astype(np.int8)
    (got,) = tflm_outputs(prefix, [sample])
    np.testing.assert_array_equal(got, tflm_tensors(GOLDEN, sample, [logits])[logits])
