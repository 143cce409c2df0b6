"""The converter's chains folded by the reader (tinyc.ir.patterns): which ops remain, with which options and shapes;
and the reference flatbuffer TFLite Micro runs instead (tinyc.run.oracle.with_native_ops). No emulator."""

from __future__ import annotations

import keras
import pytest
from keras import layers

import models_for_tests as m
from tinyc.ir.graph import ConvOptions, OpKind, Padding, ResizeOptions
from tinyc.ir.reader import read_tflite
from tinyc.run.oracle import with_native_ops


def _up_conv(size, stride):  # type: ignore[no-untyped-def]
    def build() -> keras.Model:
        x = keras.Input((5, 6, 3))
        return keras.Model(x, layers.Conv2D(4, 3, strides=stride, padding="same")(layers.UpSampling2D(size)(x)))
    return build


@pytest.mark.parametrize(("name", "build", "kinds", "padding", "dilation", "out_shape"), [
    ("fold_dil_same", lambda: m.dilated(False, 2, "same", (9, 10), 3, 5), ["CONV_2D", "ADD"], Padding.SAME, (2, 2),
     (1, 9, 10, 5)),
    ("fold_dil_valid", lambda: m.dilated(False, (3, 2), "valid", (12, 9), 4, 6), ["CONV_2D", "ADD"], Padding.VALID,
     (3, 2), (1, 6, 5, 6)),
    ("fold_dw_dil_m2", lambda: m.dilated(True, 4, "same", (13, 12), 3, depth_multiplier=2),
     ["DEPTHWISE_CONV_2D", "ADD"], Padding.SAME, (4, 4), (1, 13, 12, 6)),
])
def test_dilated_chain_folds_into_one_conv(name, build, kinds, padding, dilation, out_shape, tflite_of) -> None:
    graph = read_tflite(tflite_of(name, build).read_bytes())
    assert [op.opcode_name for op in graph.ops] == kinds
    conv = graph.ops[0]
    assert isinstance(conv.options, ConvOptions)
    assert (conv.options.padding, conv.options.dilation_h, conv.options.dilation_w) == (padding, *dilation)
    assert conv.inputs[0] == graph.inputs[0]
    assert graph.tensor(conv.outputs[0]).shape == out_shape
    native, notes = with_native_ops(tflite_of(name, build).read_bytes())  # type: ignore[misc]
    assert [op.opcode_name for op in read_tflite(native).ops] == kinds
    assert "dilated" in notes[0]


@pytest.mark.parametrize(("size", "stride", "resized", "out"), [
    (2, 1, (1, 10, 12, 3), (1, 10, 12, 4)),
    ((2, 1), 2, (1, 10, 6, 3), (1, 5, 3, 4)),   # the factor-1 axis: EXPAND_DIMS -> RESHAPE without TILE
    ((1, 3), 1, (1, 5, 18, 3), (1, 5, 18, 4)),
])
def test_upsampling_chain_folds_into_one_resize_and_shapes_below_are_rederived(size, stride, resized, out,
                                                                               tflite_of) -> None:
    """The converter stores height 1 for the chain's last RESHAPE and derives the shapes below from it."""
    model = tflite_of(f"fold_up_{size}_{stride}", _up_conv(size, stride)).read_bytes()
    graph = read_tflite(model)
    assert [op.kind for op in graph.ops] == [OpKind.RESIZE_NEAREST_NEIGHBOR, OpKind.CONV_2D]
    resize, conv = graph.ops
    assert isinstance(resize.options, ResizeOptions) and resize.options.repeat
    assert resize.inputs == (graph.inputs[0],)
    assert graph.tensor(resize.outputs[0]).shape == resized
    assert graph.tensor(conv.outputs[0]).shape == out
    native, _ = with_native_ops(model)  # type: ignore[misc]
    native_graph = read_tflite(native)
    assert [op.opcode_name for op in native_graph.ops] == ["RESIZE_NEAREST_NEIGHBOR", "CONV_2D"]
    assert native_graph.tensor(native_graph.outputs[0]).shape == out


def test_models_without_chains_are_their_own_reference(tflite_of) -> None:
    assert with_native_ops(tflite_of("fold_none", lambda: m.conv(3, 1, "same", (6, 5), 2, 3)).read_bytes()) is None


def test_split_outputs_become_one_op_each(tflite_of) -> None:
    """Each used output of a SPLIT / SPLIT_V is its own op reading the split's input, with the axis and where the part
    starts; the SPLIT_V the converter leaves in float (one output used) is an int8 part writing the QUANTIZE's tensor."""
    from tinyc.ir.graph import SplitPartOptions

    graph = read_tflite(tflite_of("shape_ops", m.shape_ops).read_bytes())
    parts = [op for op in graph.ops if op.kind in (OpKind.SPLIT, OpKind.SPLIT_V)]
    assert [(op.opcode_name, op.options) for op in parts] == [
        ("SPLIT", SplitPartOptions(axis=3, offset=0)), ("SPLIT", SplitPartOptions(axis=3, offset=4)),
        ("SPLIT_V", SplitPartOptions(axis=1, offset=2))]
    conv_output = graph.ops[0].outputs[0]
    assert [op.inputs for op in parts] == [(conv_output,), (conv_output,), parts[1].outputs]  # SPLIT_V splits b
    assert all(len(op.outputs) == 1 and graph.tensor(op.outputs[0]).quant == graph.tensor(conv_output).quant
               for op in parts)
    assert not {OpKind.DEQUANTIZE, OpKind.QUANTIZE} & {op.kind for op in graph.ops}


def test_dilated_conv1d_chains_fold(tflite_of) -> None:
    """Each dilated Conv1D / SeparableConv1D chain (SPACE_TO_BATCH_ND -> EXPAND_DIMS -> conv -> RESHAPE ->
    BATCH_TO_SPACE_ND) becomes EXPAND_DIMS of the original input -> the conv dilated along the width -> RESHAPE; the
    causal one keeps its PAD of the 3-D input; TFLite Micro runs the same native ops."""
    model = tflite_of("dilated_conv1d", m.dilated_conv1d).read_bytes()
    graph = read_tflite(model)
    kinds = {op.opcode_name for op in graph.ops}
    assert not {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"} & kinds and "PAD" in kinds
    convs = [op for op in graph.ops if isinstance(op.options, ConvOptions) and op.options.dilation_w > 1]
    assert [(op.options.dilation_h, op.options.dilation_w, op.options.padding) for op in convs] == [  # type: ignore[union-attr]
        (1, 2, Padding.SAME), (1, 4, Padding.VALID), (1, 3, Padding.SAME), (1, 2, Padding.VALID)]
    assert [graph.tensor(op.inputs[0]).shape for op in convs] == [(1, 1, 40, 3), (1, 1, 48, 8), (1, 1, 40, 8),
                                                                  (1, 1, 40, 6)]
    native, notes = with_native_ops(model)  # type: ignore[misc]
    assert [op.opcode_name for op in read_tflite(native).ops] == [op.opcode_name for op in graph.ops]
    assert "dilated" in notes[0]
