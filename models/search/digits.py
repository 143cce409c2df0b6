"""A `tinyc search` file: scikit-learn's 8x8 digits upsampled to 32x32x1 (bundled, offline), the same stratified
75/25 split as models/digits_mcunet.py. No space(): tinyc's default MCUNet-style space.

    tinyc search models/search/digits.py --board stm32f412 --sram-kb 32 --trials 8 --epochs 2 --workers 2 -o OUT
"""

from __future__ import annotations

import numpy as np

from tinyc.frontend.data import digits_split


def dataset() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    x_train, y_train, x_val, y_val = digits_split()
    return (x_train, y_train), (x_val, y_val)
