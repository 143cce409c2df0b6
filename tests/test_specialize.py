"""Compile-time layouts of the specialized kernels (tinyc/plan/specialize.py): exact values, no toolchain."""

from __future__ import annotations

import numpy as np

from tinyc.plan.specialize import depthwise_weights_layout


def test_depthwise_weights_layout_3x3() -> None:
    """Per channel and kernel row: [2*w0, 2*w2, 2*w1, 0] (SXTB16 lane order, the row padded to 4 taps)."""
    channels, k = 2, 3
    w = np.arange(k * k * channels, dtype=np.int8).reshape(1, k, k, channels)  # TFLite [1, k_h, k_w, C]
    out = depthwise_weights_layout(w.reshape(-1), channels, k, k)
    assert out.dtype == np.int16 and out.size == channels * k * 4
    rows = out.reshape(channels, k, 4)
    for c in range(channels):
        for ky in range(k):
            w0, w1, w2 = (int(w[0, ky, kx, c]) for kx in range(k))
            assert rows[c, ky].tolist() == [2 * w0, 2 * w2, 2 * w1, 0]


def test_depthwise_weights_layout_5_wide_groups() -> None:
    """A 5-wide row: two groups of 4 taps, [w0, w2, w1, w3], [w4, 0, 0, 0]; -128 doubles to -256 (int16)."""
    w = np.array([-128, 1, 2, 3, 127], dtype=np.int8)
    out = depthwise_weights_layout(w, 1, 1, 5)
    assert out.tolist() == [-256, 4, 2, 6, 254, 0, 0, 0]
