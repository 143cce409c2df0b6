"""The reference interpreters run in a child process, so that their crashes are reported, not fatal."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import needs_toolchain
from tinyc.run.verify import verify
from tinyc.run.oracle import OracleCrash, litert_ref_outputs, tflm_outputs


def wide_softmax(classes: int):
    import keras
    x = keras.Input((64,))
    logits = keras.layers.Dense(classes, kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))(x)
    return keras.Model(x, keras.layers.Softmax()(logits))


@pytest.mark.parametrize(("classes", "crashes"), [(512, False), (513, True)])
def test_reference_softmax_aborts_past_512_equal_logits(classes: int, crashes: bool, tflite_of) -> None:
    model = tflite_of(f"wide_softmax_{classes}", lambda: wide_softmax(classes)).read_bytes()
    sample = [np.zeros((1, 64), dtype=np.int8)]
    for run in (tflm_outputs, litert_ref_outputs):
        if crashes:
            with pytest.raises(OracleCrash, match="aborted while running this model"):
                run(model, sample)
        else:
            assert run(model, sample)[0].shape == (classes,)


@needs_toolchain
@pytest.mark.emulator
def test_verify_checks_up_to_the_logits_when_the_references_abort(tflite_of) -> None:
    model = tflite_of("wide_softmax_1000", lambda: wide_softmax(1000))
    result = verify(model, "stm32f412", samples=2)
    assert result.reference == "tflite-micro (up to the final SOFTMAX)"
    assert result.first_mismatch is None and result.mismatched_samples == 0
    assert result.planned.graph.ops[-1].opcode_name == "FULLY_CONNECTED"
    assert len(result.run.outputs[0]) == 1000
    assert any("known cause: a SOFTMAX over 1000 classes" in note for note in result.report.notes)


def test_tflm_arena_of_the_golden_model() -> None:
    from conftest import REPO
    from tinyc.run.oracle import tflm_arena_bytes
    # tflite-micro 0.dev20261023182759: activations, scratch and the interpreter's own allocations.
    assert tflm_arena_bytes((REPO / "tests" / "data" / "golden_tiny.tflite").read_bytes()) == 3136


def test_arena_bisection_tries_only_multiples_of_16() -> None:
    """TFLM aborts on some too-small arena sizes that are not multiples of its 16-byte alignment (the anomaly-detection
    autoencoder did, at 14,899 and 22,028 B): the bisection never asks for one, and finds the smallest multiple."""
    from tinyc.run.oracle import _smallest_arena

    asked: list[int] = []

    def allocates(size: int) -> bool:
        asked.append(size)
        return size >= 22_042

    assert _smallest_arena(allocates, 3_814_368) == 22_048
    assert all(size % 16 == 0 for size in asked) and len(asked) < 30
