"""The comparison with the reference: warnings when final outputs prove little."""

from __future__ import annotations

import numpy as np


def test_output_warnings() -> None:
    """Constant or saturated final outputs are said loudly (a softmax's -128s are by design)."""
    from tinyc.run.compare import output_warnings
    same = [np.array([16, -16], np.int8)] * 3
    assert output_warnings(same)[0].startswith("WARNING: the model's output is the same for all 3 samples")
    saturated = [np.array([127, -128, -128, 5], np.int8), np.array([-128, 127, -128, -128], np.int8)]
    assert output_warnings(saturated) == ()  # 7 of 8 saturated: under 90%
    saturated[0][3] = -128
    assert output_warnings(saturated)[0].startswith("WARNING: 8 of 8 output bytes are saturated")
    assert output_warnings(saturated, softmax=True) == ()
    assert output_warnings([np.array([1, 2], np.int8), np.array([3, 4], np.int8)]) == ()
