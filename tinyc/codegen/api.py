"""The C API of a generated model (`model.h`): its symbol names, its input and output quantization, and what the
memory plan means for the application's buffers.

`--name NAME` prefixes every global symbol of the model code (`NAME_invoke`, `NAME_input`, ...) and every macro
(`NAME_INPUT_BYTES`, ...), so that two models link into one firmware. Python computes each name and fact here; the
templates only print them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tinyc.errors import TinycError
from tinyc.plan.placement import MemoryPlan
from tinyc.plan.schedule import Schedule

DEFAULT_C_NAME = "tinyc"  # today's symbol names (tinyc_invoke, TINYC_INPUT_BYTES): the harnesses' and tests'
ARENA_ALIGNMENT_BYTES = 16  # the arena's alignment, as model.c declares it (kernels read 4-byte words)
LIBRARY_SOURCES = ("model.c", "model_weights.c")  # the model code of the library (the kernels come beside it)
MAX_C_NAME_CHARS = 24
ERROR_NO_ARENA = -1  # what NAME_init and NAME_invoke return when there is no usable arena
C_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto if inline int long "
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while "
    "_Bool _Complex _Imaginary asm bool true false".split())
RESERVED_PREFIXES = ("arm_", "arm", "cmsis_nn")  # the kernels' own names (CMSIS-NN's API)
TINYC_PREFIX = "tinyc_"  # tinyc's kernels (tinyc_nn_*, tinyc_dsp_*, ...) and their TINYC_* macros
# NAME.h is written beside the project's own files and included by name: it may not be one of them, nor shadow a
# header of the C library or of CMSIS (`#include "stdint.h"` finds the project's own first).
PROJECT_FILE_STEMS = frozenset({"model", "model_weights", "harness", "harness_input", "startup", "usart", "steps",
                                "forward", "firmware", "linker", "main"})
STANDARD_HEADERS = frozenset(
    "assert complex ctype errno fenv float inttypes iso646 limits locale math setjmp signal stdalign stdarg stdatomic "
    "stdbool stddef stdint stdio stdlib stdnoreturn string strings tgmath threads time uchar wchar wctype alloca "
    "unistd malloc memory newlib reent sys cmsis_compiler cmsis_gcc cmsis_version core_cm4 core_cm7 arm_math "
    "arm_acle arm_fp16 arm_mve".split())


class ModelNameError(TinycError):
    """A --name that cannot prefix C symbols."""


def validate_c_name(name: str) -> str:
    """`name` when it can prefix the model's C symbols: a letter, then letters, digits or `_`, at most
    MAX_C_NAME_CHARS, not a C keyword and not a name of the kernels; else a ModelNameError saying why."""
    if not C_NAME_PATTERN.fullmatch(name):
        raise ModelNameError(f"{name!r} is not a C identifier: use a letter, then letters, digits or '_' "
                             "(such as kws or person_detect)")
    if len(name) > MAX_C_NAME_CHARS:
        raise ModelNameError(f"{name!r} has {len(name)} characters; at most {MAX_C_NAME_CHARS} keep the "
                             "symbols it prefixes short")
    if name in C_KEYWORDS:
        raise ModelNameError(f"{name!r} is a C keyword; choose another name")
    if name.lower() in RESERVED_PREFIXES or name.lower().startswith("arm_"):
        raise ModelNameError(f"{name!r} would clash with the kernels' CMSIS-NN names (arm_*); choose another")
    if name.endswith("_"):
        raise ModelNameError(f"{name!r} ends in '_'; the symbols already add one (NAME_invoke)")
    if name in PROJECT_FILE_STEMS:
        raise ModelNameError(f"{name!r} would clash with the project's own {name}.c / {name}.h (the API header is "
                             "NAME.h); choose another name")
    if name.lower() in STANDARD_HEADERS:
        raise ModelNameError(f"{name!r} would write {name}.h, which shadows the standard header <{name.lower()}.h>; "
                             "choose another name")
    if name.lower().startswith(TINYC_PREFIX):
        raise ModelNameError(f"{name!r} would clash with tinyc's kernels ({TINYC_PREFIX}* symbols, "
                             f"{TINYC_PREFIX.upper()}* macros); choose a name without that prefix")
    if name != DEFAULT_C_NAME and name.upper() == DEFAULT_C_NAME.upper():
        raise ModelNameError(f"{name!r} differs from the default name {DEFAULT_C_NAME!r} only in case, and the macros "
                             f"upper-case it: both would define {DEFAULT_C_NAME.upper()}_* macros; choose another name")
    return name


@dataclass(frozen=True)
class ApiNames:
    """Every global name of one model's C code, from its --name."""
    prefix: str  # NAME
    macro: str  # NAME in upper case: the macros' prefix
    invoke: str
    init: str
    input: str
    output: str
    copy_output: str
    quantize_input: str
    dequantize_output: str
    read_input_block: str
    header: str  # the forwarding header NAME.h: #include "model.h" from its own folder
    guard: str
    owner: str  # defined beside the guard: a second model whose macros would collide (kws and KWS) is an #error
    library: str  # the CMake / static library target

    @property
    def is_default(self) -> bool:
        return self.prefix == DEFAULT_C_NAME


def api_names(name: str = DEFAULT_C_NAME) -> ApiNames:
    name = validate_c_name(name)
    return ApiNames(prefix=name, macro=name.upper(), invoke=f"{name}_invoke", init=f"{name}_init",
                    input=f"{name}_input", output=f"{name}_output", copy_output=f"{name}_copy_output",
                    quantize_input=f"{name}_quantize_input", dequantize_output=f"{name}_dequantize_output",
                    read_input_block=f"{name}_read_input_block", header=f"{name}.h",
                    guard=f"{name.upper()}_MODEL_H", owner=f"{name.upper()}_MODEL_NAME_IS_{name}", library=name)


@dataclass(frozen=True)
class TensorInterface:
    """One end of the model as the application sees it: int8, NHWC."""
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    size_bytes: int
    offset_bytes: int | None  # in the arena; None when the input is streamed
    float_interface: bool = False  # the model file takes / gives float32 here (QUANTIZE / DEQUANTIZE left out)

    @property
    def scale_literal(self) -> str:
        """The scale as a C float literal (the float32 value exactly: repr of its double round-trips)."""
        return f"{self.scale!r}f"

    def as_json(self) -> dict[str, Any]:
        return {"dtype": "int8", "shape": list(self.shape), "scale": self.scale, "zero_point": self.zero_point,
                "size_bytes": self.size_bytes, "arena_offset_bytes": self.offset_bytes,
                "float_interface": self.float_interface}


@dataclass(frozen=True)
class ModelInterface:
    """The API's numbers: the input and output, the arena, and what invoke does to the input and output buffers."""
    names: ApiNames
    input: TensorInterface
    output: TensorInterface
    arena_bytes: int
    arena_alignment_bytes: int
    input_streamed: bool
    output_overlaps_input: bool  # writing the next input corrupts the last output
    input_preserved: bool  # invoke leaves the input as the application wrote it

    def as_json(self) -> dict[str, Any]:
        return {"name": self.names.prefix, "input": self.input.as_json(), "output": self.output.as_json(),
                "arena_bytes": self.arena_bytes, "arena_alignment_bytes": self.arena_alignment_bytes,
                "input_streamed": self.input_streamed, "output_overlaps_input": self.output_overlaps_input,
                "input_preserved": self.input_preserved}


def _spans(plan: MemoryPlan, tensor: int) -> tuple[int, int]:
    buffer = next(b for b in plan.buffers if tensor in b.tensors)
    return buffer.offset_bytes, buffer.offset_bytes + buffer.size_bytes


def model_interface(schedule: Schedule, plan: MemoryPlan, names: ApiNames) -> ModelInterface:
    """What model.h tells the application, derived from the schedule and the placed arena."""
    graph = schedule.graph
    x, y = graph.tensor(schedule.input), graph.tensor(schedule.output)
    offsets = plan.offsets()
    streamed = schedule.stream_input
    y_start, y_end = _spans(plan, schedule.output)
    if streamed:
        overlaps, preserved = False, True  # the application keeps its own frame
    else:
        x_start, x_end = _spans(plan, schedule.input)
        overlaps = x_start < y_end and y_start < x_end
        # Every other buffer placed on the input's bytes (scratch, a later tensor, an in-place output) is written
        # during invoke, after the input's last read.
        preserved = not any(b.offset_bytes < x_end and x_start < b.offset_bytes + b.size_bytes
                            for b in plan.buffers if b.tensors != (schedule.input,))
    return ModelInterface(
        names=names,
        input=TensorInterface(shape=tuple(x.shape), scale=float(x.scale), zero_point=int(x.zero_point),
                              size_bytes=x.size_bytes, offset_bytes=None if streamed else offsets[schedule.input],
                              float_interface=graph.float_edges.input),
        output=TensorInterface(shape=tuple(y.shape), scale=float(y.scale), zero_point=int(y.zero_point),
                               size_bytes=y.size_bytes, offset_bytes=offsets[schedule.output],
                               float_interface=graph.float_edges.output),
        arena_bytes=plan.arena_bytes, arena_alignment_bytes=ARENA_ALIGNMENT_BYTES, input_streamed=streamed,
        output_overlaps_input=overlaps, input_preserved=preserved)
