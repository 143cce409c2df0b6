"""How close two sets of real-valued model outputs are: RMSE, max abs error, cosine similarity and SNR.

`tinyc verify --dataset` reports these for every model (ST's validate reports the same four): int8 outputs are
dequantized with the output tensor's scale and zero point first, then each pair (int8 reference vs float Keras,
firmware vs float Keras, firmware vs the reference, and each against float targets where `dataset()` gives them)
is compared over every output value of every sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OutputMetrics:
    rmse: float
    max_abs_error: float
    cosine_similarity: float  # of the flattened outputs; 1.0 when both are all zero
    snr_db: float  # 10 log10(signal power / error power) of `expected`; inf when equal

    def as_json(self) -> dict[str, float | str]:
        return {"rmse": _rounded(self.rmse), "max_abs_error": _rounded(self.max_abs_error),
                "cosine_similarity": _rounded(self.cosine_similarity), "snr_db": _rounded(self.snr_db)}


def _rounded(value: float) -> float | str:
    return round(value, 6) if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def output_metrics(got: np.ndarray, expected: np.ndarray) -> OutputMetrics:
    """`got` against `expected` (same number of values; computed in float64)."""
    a = np.asarray(got, dtype=np.float64).ravel()
    b = np.asarray(expected, dtype=np.float64).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"outputs of {a.size} and {b.size} values cannot be compared")
    error = a - b
    error_power = float(np.mean(error * error))
    signal_power = float(np.mean(b * b))
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    cosine = float(np.dot(a, b) / norms) if norms > 0 else (1.0 if not a.any() and not b.any() else 0.0)
    if error_power == 0:
        snr = math.inf
    elif signal_power == 0:
        snr = -math.inf
    else:
        snr = 10 * math.log10(signal_power / error_power)
    return OutputMetrics(rmse=math.sqrt(error_power), max_abs_error=float(np.max(np.abs(error))),
                         cosine_similarity=cosine, snr_db=snr)


def dequantize(outputs: np.ndarray, *, scale: float, zero_point: int) -> np.ndarray:
    """Real values of int8 outputs: scale * (q - zero_point)."""
    return (np.asarray(outputs, dtype=np.float64) - zero_point) * scale
