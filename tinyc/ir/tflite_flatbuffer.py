"""A verifying parser for the part of the TFLite flatbuffer schema that tinyc reads (the reader's backend).

Every offset, vtable, vector and string is checked against the file before it is followed, so a
truncated or crafted file gets one `ModelFormatError` naming where the structure breaks (e.g.
``subgraph 0 > tensor 12 > shape``) instead of an IndexError or struct.error from deep inside the
flatbuffers library. The parse does work proportional to the file's size (tables that many vector
entries point at are counted each time), so no file can make it hang.

The result is plain data: one `FbTable` per table with its fields' values (schema defaults where a
field is absent) and the byte position of each field that is present, which `tinyc.ir.reader` uses to
patch a flatbuffer in place and the fuzz test uses to edit fields.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinyc.errors import ModelFormatError

FILE_IDENTIFIER = b"TFL3"

# scalar kinds: struct format and size
_SCALARS = {"bool": ("<B", 1), "u8": ("<B", 1), "i8": ("<b", 1), "u16": ("<H", 2), "i32": ("<i", 4),
            "u32": ("<I", 4), "f32": ("<f", 4), "i64": ("<q", 8), "u64": ("<Q", 8)}
_NUMPY = {"u8": "<u1", "i32": "<i4", "f32": "<f4", "i64": "<i8"}


@dataclass(frozen=True)
class F:
    """One field of a table: `kind` is a scalar kind, "str", "vec:<scalar>", "table:<Type>",
    "tables:<Type>" (a vector of tables) or "union:<type field>"."""
    name: str
    kind: str
    default: Any = 0


# Field order = the schema's slot order (tensorflow/compiler/mlir/lite/schema/schema.fbs); None = a slot
# tinyc does not read.
SCHEMA: dict[str, tuple[F | None, ...]] = {
    "Model": (F("version", "u32"), F("operator_codes", "tables:OperatorCode"), F("subgraphs", "tables:SubGraph"),
              F("description", "str"), F("buffers", "tables:Buffer")),
    "OperatorCode": (F("deprecated_builtin_code", "i8"), F("custom_code", "str"), F("version", "i32", 1),
                     F("builtin_code", "i32")),
    "SubGraph": (F("tensors", "tables:Tensor"), F("inputs", "vec:i32"), F("outputs", "vec:i32"),
                 F("operators", "tables:Operator"), F("name", "str")),
    "Tensor": (F("shape", "vec:i32"), F("type", "i8"), F("buffer", "u32"), F("name", "str"),
               F("quantization", "table:QuantizationParameters")),
    "QuantizationParameters": (F("min", "vec:f32"), F("max", "vec:f32"), F("scale", "vec:f32"),
                               F("zero_point", "vec:i64"), F("details_type", "u8"), None,
                               F("quantized_dimension", "i32")),
    "Operator": (F("opcode_index", "u32"), F("inputs", "vec:i32"), F("outputs", "vec:i32"),
                 F("builtin_options_type", "u8"), F("builtin_options", "union:builtin_options_type")),
    "Buffer": (F("data", "vec:u8"), F("offset", "u64"), F("size", "u64")),
    # builtin options
    "Conv2DOptions": (F("padding", "i8"), F("stride_w", "i32"), F("stride_h", "i32"),
                      F("fused_activation_function", "i8"), F("dilation_w_factor", "i32", 1),
                      F("dilation_h_factor", "i32", 1)),
    "DepthwiseConv2DOptions": (F("padding", "i8"), F("stride_w", "i32"), F("stride_h", "i32"),
                               F("depth_multiplier", "i32"), F("fused_activation_function", "i8"),
                               F("dilation_w_factor", "i32", 1), F("dilation_h_factor", "i32", 1)),
    "Pool2DOptions": (F("padding", "i8"), F("stride_w", "i32"), F("stride_h", "i32"), F("filter_width", "i32"),
                      F("filter_height", "i32"), F("fused_activation_function", "i8")),
    "FullyConnectedOptions": (F("fused_activation_function", "i8"), F("weights_format", "i8"),
                              F("keep_num_dims", "bool")),
    "SoftmaxOptions": (F("beta", "f32", 0.0),),
    "ConcatenationOptions": (F("axis", "i32"), F("fused_activation_function", "i8")),
    "AddOptions": (F("fused_activation_function", "i8"),),
    "ReducerOptions": (F("keep_dims", "bool"),),
    "MulOptions": (F("fused_activation_function", "i8"),),
    "SubOptions": (F("fused_activation_function", "i8"),),
    "LeakyReluOptions": (F("alpha", "f32", 0.0),),
    "ResizeNearestNeighborOptions": (F("align_corners", "bool"), F("half_pixel_centers", "bool")),
    "ResizeBilinearOptions": (None, None, F("align_corners", "bool"), F("half_pixel_centers", "bool")),
    "StridedSliceOptions": (F("begin_mask", "i32"), F("end_mask", "i32"), F("ellipsis_mask", "i32"),
                            F("new_axis_mask", "i32"), F("shrink_axis_mask", "i32"), F("offset", "bool")),
    "TransposeConvOptions": (F("padding", "i8"), F("stride_w", "i32"), F("stride_h", "i32"),
                             F("fused_activation_function", "i8")),
    "UnidirectionalSequenceLSTMOptions": (F("fused_activation_function", "i8"), F("cell_clip", "f32", 0.0),
                                          F("proj_clip", "f32", 0.0), F("time_major", "bool"),
                                          F("asymmetric_quantize_inputs", "bool")),
}

# BuiltinOptions union values (schema.fbs) of the option tables above.
BUILTIN_OPTIONS = {1: "Conv2DOptions", 2: "DepthwiseConv2DOptions", 5: "Pool2DOptions", 8: "FullyConnectedOptions",
                   9: "SoftmaxOptions", 10: "ConcatenationOptions", 11: "AddOptions", 27: "ReducerOptions",
                   21: "MulOptions", 28: "SubOptions", 75: "LeakyReluOptions",
                   74: "ResizeNearestNeighborOptions", 15: "ResizeBilinearOptions",
                   49: "TransposeConvOptions", 32: "StridedSliceOptions", 71: "UnidirectionalSequenceLSTMOptions"}


@dataclass
class FbTable:
    type: str
    pos: int  # byte position of the table in the file
    values: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)  # field → byte position (vectors: their length word)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


@dataclass(frozen=True)
class ScalarField:
    """Where one scalar of the file lies (for in-place edits by the fuzz test)."""
    where: str
    pos: int
    kind: str


class _Parser:
    def __init__(self, buf: bytes, scalars: list[ScalarField] | None) -> None:
        self.buf = buf
        self.n = len(buf)
        self.scalars = scalars
        # Work budget: bytes visited, counting shared data each time it is reached.
        self.budget = 8 * self.n + 4096

    def fail(self, where: str, what: str) -> ModelFormatError:
        return ModelFormatError(f"not a valid .tflite file ({self.n:,} bytes): {where}: {what}")

    def spend(self, amount: int, where: str) -> None:
        self.budget -= amount
        if self.budget < 0:
            raise self.fail(where, "the file refers to the same data so many times that reading it would not end "
                                   "(a crafted file?)")

    def need(self, pos: int, size: int, where: str, what: str) -> None:
        if pos < 0 or pos + size > self.n:
            raise self.fail(where, f"{what} at byte {pos:,} ({size:,} bytes) lies outside the file "
                                   "(the file is truncated or corrupt)")

    def scalar(self, pos: int, kind: str, where: str, what: str = "") -> Any:
        fmt, size = _SCALARS[kind]
        self.need(pos, size, where, what or f"a {kind} value")
        value = struct.unpack_from(fmt, self.buf, pos)[0]
        return bool(value) if kind == "bool" else value

    def uoffset(self, pos: int, where: str) -> int:
        return pos + int(self.scalar(pos, "u32", where, "an offset"))

    def vector(self, pos: int, elem_size: int, where: str) -> tuple[int, int]:
        """(start of the elements, length) of the vector whose length word is at `pos`."""
        length = self.scalar(pos, "u32", where, "a vector length")
        self.need(pos + 4, length * elem_size, where, f"a vector of {length:,} elements")
        self.spend(4 + length * elem_size, where)
        return pos + 4, length

    def string(self, pos: int, where: str) -> str:
        start, length = self.vector(pos, 1, where)
        return self.buf[start:start + length].decode("utf-8", errors="replace")

    def table(self, pos: int, type_name: str, where: str) -> FbTable:
        self.spend(8, where)
        vtable = pos - self.scalar(pos, "i32", where, "a table")
        self.need(vtable, 4, where, "the vtable")
        vt_size, obj_size = self.scalar(vtable, "u16", where), self.scalar(vtable + 2, "u16", where)
        if vt_size < 4 or vt_size % 2:
            raise self.fail(where, f"vtable at byte {vtable:,} has an invalid size {vt_size}")
        self.need(vtable, vt_size, where, "the vtable")
        if obj_size < 4:
            raise self.fail(where, f"table at byte {pos:,} has an invalid size {obj_size}")
        self.need(pos, obj_size, where, "the table")
        result = FbTable(type=type_name, pos=pos)
        for slot, f in enumerate(SCHEMA[type_name]):
            if f is None:
                continue
            entry = 4 + 2 * slot
            offset = self.scalar(vtable + entry, "u16", where) if entry + 2 <= vt_size else 0
            result.values[f.name] = self.field(result, f, offset, obj_size, f"{where} > {f.name}")
            if offset:
                result.positions[f.name] = pos + offset
        return result

    def field(self, table: FbTable, f: F, offset: int, obj_size: int, where: str) -> Any:
        kind, _, arg = f.kind.partition(":")
        size = _SCALARS[kind][1] if kind in _SCALARS else 4
        if offset == 0:
            if kind == "vec":
                return np.zeros(0, dtype=_NUMPY[arg])
            if kind == "tables":
                return []
            return None if kind in ("str", "table", "union") else f.default
        if offset + size > obj_size:
            raise self.fail(where, f"field at offset {offset} lies outside its {obj_size}-byte table")
        pos = table.pos + offset
        if kind in _SCALARS:
            if self.scalars is not None:
                self.scalars.append(ScalarField(where, pos, kind))
            return self.scalar(pos, kind, where)
        target = self.uoffset(pos, where)
        table.positions[f"{f.name}.length"] = target  # vectors and strings: their length word
        if kind == "str":
            return self.string(target, where)
        if kind == "vec":
            elem = np.dtype(_NUMPY[arg])
            start, length = self.vector(target, elem.itemsize, where)
            if self.scalars is not None and arg != "u8":
                self.scalars.append(ScalarField(f"{where} (length)", target, "u32"))
                self.scalars.extend(ScalarField(f"{where}[{i}]", start + i * elem.itemsize, arg)
                                    for i in range(min(length, 64)))
            elif self.scalars is not None:
                self.scalars.append(ScalarField(f"{where} (length)", target, "u32"))
            table.positions[f"{f.name}.start"] = start
            return np.frombuffer(self.buf, dtype=elem, count=length, offset=start)
        if kind == "table":
            return self.table(target, arg, where)
        if kind == "tables":
            start, length = self.vector(target, 4, where)
            table.positions[f"{f.name}.start"] = start
            if self.scalars is not None:
                self.scalars.append(ScalarField(f"{where} (length)", target, "u32"))
            return [self.table(self.uoffset(start + 4 * i, f"{where}[{i}]"), arg, f"{where}[{i}]")
                    for i in range(length)]
        if kind == "union":
            type_name = BUILTIN_OPTIONS.get(table.values.get(arg, 0))
            if type_name is None:
                return None  # an options table tinyc does not read
            return self.table(target, type_name, where)
        raise AssertionError(f"unknown field kind {f.kind!r}")


def parse_model(buf: bytes, scalars: list[ScalarField] | None = None) -> FbTable:
    """The verified root `Model` table of a .tflite file; `scalars`, when given, collects every scalar read."""
    parser = _Parser(bytes(buf), scalars)
    if parser.n < 8:
        raise parser.fail("header", "shorter than a flatbuffer header (8 bytes)")
    identifier = parser.buf[4:8]
    if identifier != FILE_IDENTIFIER:
        raise parser.fail("header", f"file identifier is {identifier!r}, not {FILE_IDENTIFIER!r}: "
                                    "this is not a TFLite flatbuffer")
    return parser.table(parser.uoffset(0, "root"), "Model", "model")


def buffer_bytes(buf: bytes, buffer: FbTable, index: int) -> bytes:
    """The bytes of buffer `index`: inline data, or (models over 2 GB) an offset/size into the file."""
    data = buffer["data"]
    if len(data):
        return bytes(data.tobytes())
    offset, size = buffer["offset"], buffer["size"]
    if offset > 1:
        if offset + size > len(buf):
            raise ModelFormatError(f"not a valid .tflite file ({len(buf):,} bytes): buffer {index} claims bytes "
                                   f"{offset:,}..{offset + size:,}, past the end of the file (is it truncated?)")
        return bytes(buf[offset:offset + size])
    return b""
