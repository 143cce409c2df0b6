"""Search spaces: an Optuna trial -> a builder of a `keras.Model`.

A search file may define `space(trial)` returning a zero-argument builder of its own; without it, `default_space`:
tinyc's MCUNet-style space from the front end's builders (tinyc.frontend.spec.MCUNetSpec): width multiplier, input
resolution (the data's, or half of it when the data is square, at least 16 pixels and even), and per stage a
depthwise kernel (3/5/7), an expansion ratio (3/4/6) and a depth (1-3). Every choice is a named Optuna parameter, so
`optuna.trial.FixedTrial(params)` rebuilds a trial's architecture (OUT/best.py does). A stage's squeeze-and-excite
(on/off, "stage{i}_se") applies to each of its blocks.

TinyNAS's first step (tinyc.search.space_choice) fixes the width and resolution of the default space before the
search: `default_spec(..., fixed=SpaceChoice(...))` then offers only those.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tinyc.frontend.spec import BlockChoice, MCUNetSpec, Stage

WIDTHS: tuple[float, ...] = (0.25, 0.35, 0.5, 0.75, 1.0)
KERNELS: tuple[int, ...] = (3, 5, 7)
EXPANSIONS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (1, 2, 3)
SQUEEZE_EXCITE: tuple[bool, ...] = (False, True)
# (base channels, stride) of the default space's stages (MCUNet's first stages, before the width multiplier)
STAGES: tuple[tuple[int, int], ...] = ((16, 1), (24, 2), (40, 2), (80, 2))
STEM_CHANNELS = 16
MIN_RESOLUTION = 16  # the default space divides by 16 (stem and three stride-2 stages): at least 1x1 at the end


class Trial(Protocol):
    """What a space uses of `optuna.trial.Trial` (FixedTrial has the same)."""
    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


Builder = Callable[[], Any]  # () -> keras.Model


@dataclass(frozen=True)
class DataShape:
    """The inputs' shape (height, width, channels) and the number of classes of a search's data set."""
    input_shape: tuple[int, int, int]
    num_classes: int


def data_shape(x: np.ndarray, y: np.ndarray) -> DataShape:
    if x.ndim != 4:
        raise ValueError(f"dataset() inputs must be (samples, height, width, channels), not shape {x.shape}")
    height, width, channels = (int(d) for d in x.shape[1:])
    return DataShape((height, width, channels), int(np.max(y)) + 1)


def resolutions(shape: DataShape) -> tuple[int, ...]:
    """The input resolutions the default space may choose: the data's own, and half of it where average pooling the
    data by 2 keeps at least MIN_RESOLUTION pixels."""
    height, width, _ = shape.input_shape
    if height == width and height % 2 == 0 and height // 2 >= MIN_RESOLUTION:
        return (height, height // 2)
    return (height,)


def resize_inputs(x: np.ndarray, resolution: int) -> np.ndarray:
    """`x` (samples, h, w, c) at `resolution`: itself, or averaged over factor x factor pixel blocks."""
    height = int(x.shape[1])
    if resolution == height:
        return x
    factor = height // resolution
    if factor * resolution != height or int(x.shape[2]) != height:
        raise ValueError(f"cannot resize {x.shape[1:3]} inputs to {resolution}x{resolution}")
    n, _, _, c = x.shape
    blocks = x.reshape(n, resolution, factor, resolution, factor, c)
    resized: np.ndarray = blocks.mean(axis=(2, 4)).astype(np.float32)
    return resized


@dataclass(frozen=True)
class SpaceChoice:
    """A width multiplier and an input resolution of the default space (TinyNAS's first step chooses one)."""
    width: float
    resolution: int

    def as_json(self) -> dict[str, float | int]:
        return {"width": self.width, "resolution": self.resolution}


def depths(size: int) -> tuple[int, ...]:
    """The depths a stage whose output map is size x size may have: one block on a 1x1 map, since the converter
    turns a residual add of 1x1 maps into a RESHAPE (squeeze) with a batch of the channel count, which tinyc does
    not take. A study's resolution is fixed by TinyNAS's first step, so the choices are the same in every trial."""
    return (1,) if size == 1 else DEPTHS


def default_spec(trial: Trial, shape: DataShape, *, fixed: SpaceChoice | None = None) -> MCUNetSpec:
    """The default space's architecture for `trial`; with `fixed`, only that width and resolution."""
    widths = [fixed.width] if fixed is not None else list(WIDTHS)
    sizes = [fixed.resolution] if fixed is not None else list(resolutions(shape))
    width = float(trial.suggest_categorical("width", widths))
    resolution = int(trial.suggest_categorical("resolution", sizes))
    stages = []
    size = -(-resolution // 2)  # after the stride-2 stem ("same" padding)
    for index, (channels, stride) in enumerate(STAGES):
        size = -(-size // stride)
        depth = int(trial.suggest_categorical(f"stage{index}_depth", list(depths(size))))
        kernel = int(trial.suggest_categorical(f"stage{index}_kernel", list(KERNELS)))
        expansion = int(trial.suggest_categorical(f"stage{index}_expansion", list(EXPANSIONS)))
        se = bool(trial.suggest_categorical(f"stage{index}_se", list(SQUEEZE_EXCITE)))
        stages.append(Stage(channels, stride, tuple(BlockChoice(kernel, expansion, se) for _ in range(depth))))
    return MCUNetSpec(name="search", resolution=resolution, stem_channels=STEM_CHANNELS, stages=tuple(stages),
                      num_classes=shape.num_classes, width=width, in_channels=shape.input_shape[2])


def input_resolution(params: dict[str, Any], shape: DataShape) -> int:
    """The input resolution a trial's model takes (the data's own for a user's space)."""
    return int(params.get("resolution", shape.input_shape[0]))
