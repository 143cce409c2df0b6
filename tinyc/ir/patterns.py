"""Converter patterns folded into the one op they stand for, before the graph is validated.

TensorFlow's converter rewrites common Keras layers into chains of shape ops:
- a dilated `Conv2D` / `DepthwiseConv2D` becomes SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND (the convolution
  runs on dilation^2 interleaved sub-images); folded into one CONV_2D / DEPTHWISE_CONV_2D with its dilation factors,
  SAME or VALID padding, reading the original input (no sub-image buffers); a dilated `Conv1D` has EXPAND_DIMS and
  RESHAPE inside its chain: folded into EXPAND_DIMS -> the conv dilated along the width -> RESHAPE;
- `LSTM(return_sequences=False)` becomes UNIDIRECTIONAL_SEQUENCE_LSTM (the whole sequence) -> STRIDED_SLICE of the
  last step; folded into the LSTM writing the last step only (`tinyc.ir.lstm.is_last_step_slice`);
- `UpSampling2D` becomes EXPAND_DIMS -> TILE -> RESHAPE per axis (the static shape the converter stores for the last
  RESHAPE can be wrong); each triple is folded into a RESIZE_NEAREST_NEIGHBOR that repeats rows (or columns), and a
  row repeat feeding only a column repeat is merged into one.

The converter leaves a split with an unused output in float (DEQUANTIZE -> SPLIT_V -> QUANTIZE to the same scale):
folded into the int8 split.

A SPLIT / SPLIT_V writes several tensors; the IR's ops write one each, so every used output of a split becomes
its own op (same kind, `SplitPartOptions`: the axis and where the part starts along it).

The tensors keep their indices (the reference interpreter's intermediate tensors are still found by index); only the
ops change. A chain that does not match exactly is left alone (and later refused with its op named).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyc.errors import ModelFormatError, UnsupportedModelError
from tinyc.ir.graph import (ActivationOptions, ConvOptions, LstmOptions, Op, OpKind, Padding, PoolOptions,
                            ResizeOptions, SplitPartOptions, Tensor)
from tinyc.ir.lstm import is_last_step_slice


def _const(tensors: tuple[Tensor, ...], index: int) -> list[int] | None:
    if index < 0 or tensors[index].data is None:
        return None
    return [int(v) for v in np.asarray(tensors[index].data).reshape(-1)]


def _sole_consumer(ops: list[Op | None], tensor: int, outputs: tuple[int, ...]) -> int | None:
    """The position of the one op reading `tensor` (None when several or none do, or it is a graph output)."""
    if tensor in outputs:
        return None
    users = [k for k, op in enumerate(ops) if op is not None and tensor in op.inputs]
    return users[0] if len(users) == 1 else None


def _same_quant(tensors: tuple[Tensor, ...], a: int, b: int) -> bool:
    return tensors[a].quant == tensors[b].quant and tensors[a].dtype == tensors[b].dtype


def _dilated(ops: list[Op | None], position: int, tensors: tuple[Tensor, ...],
             outputs: tuple[int, ...]) -> tuple[int, int, Op] | None:
    """SPACE_TO_BATCH_ND at `position` -> VALID stride-1 conv -> BATCH_TO_SPACE_ND: (conv position, batch-to-space
    position, the dilated conv), or None."""
    s2b = ops[position]
    assert s2b is not None and len(s2b.inputs) == 3
    c = _sole_consumer(ops, s2b.outputs[0], outputs)
    conv = ops[c] if c is not None else None
    if conv is None or conv.kind not in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D) or conv.inputs[0] != s2b.outputs[0]:
        return None
    o = conv.options
    assert isinstance(o, ConvOptions)
    if (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w) != (Padding.VALID, 1, 1, 1, 1):
        return None
    b = _sole_consumer(ops, conv.outputs[0], outputs)
    b2s = ops[b] if b is not None else None
    if b2s is None or b2s.kind is not OpKind.BATCH_TO_SPACE_ND or b2s.inputs[0] != conv.outputs[0] or len(b2s.inputs) != 3:
        return None
    block, pads = _const(tensors, s2b.inputs[1]), _const(tensors, s2b.inputs[2])
    block2, crops = _const(tensors, b2s.inputs[1]), _const(tensors, b2s.inputs[2])
    x, y = tensors[s2b.inputs[0]], tensors[b2s.outputs[0]]
    if (block is None or block != block2 or len(block) != 2 or pads is None or crops is None or len(pads) != 4
            or len(crops) != 4 or len(x.shape) != 4 or len(y.shape) != 4 or min(block) < 1
            or not _same_quant(tensors, s2b.inputs[0], s2b.outputs[0])
            or not _same_quant(tensors, conv.outputs[0], b2s.outputs[0])):
        return None
    dh, dw = block
    kh, kw = tensors[conv.inputs[1]].shape[1:3]
    eff_h, eff_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    top, left = pads[0] - crops[0], pads[2] - crops[2]
    if (top, left) == ((eff_h - 1) // 2, (eff_w - 1) // 2) and y.shape[1:3] == x.shape[1:3]:
        padding = Padding.SAME
    elif (top, left) == (0, 0) and y.shape[1:3] == (x.shape[1] - eff_h + 1, x.shape[2] - eff_w + 1):
        padding = Padding.VALID
    else:
        return None
    fused = replace(conv, inputs=(s2b.inputs[0], *conv.inputs[1:]), outputs=b2s.outputs,
                    options=replace(o, padding=padding, dilation_h=dh, dilation_w=dw))
    return c, b, fused  # type: ignore[return-value]


def _consumer_of(ops: list[Op | None], tensor: int, outputs: tuple[int, ...], kinds: tuple[OpKind, ...]) -> int | None:
    """The position of the one op reading `tensor` as its first input, when it is of one of `kinds`."""
    k = _sole_consumer(ops, tensor, outputs)
    op = ops[k] if k is not None else None
    return k if op is not None and op.kind in kinds and op.inputs[0] == tensor else None


def _output_of(ops: list[Op | None], position: int) -> int:
    op = ops[position]
    assert op is not None
    return op.outputs[0]


def _dilated_1d(ops: list[Op | None], position: int, tensors: tuple[Tensor, ...],
                outputs: tuple[int, ...]) -> tuple[list[tuple[int, Op | None]], dict[int, tuple[int, ...]]] | None:
    """A dilated Conv1D: SPACE_TO_BATCH_ND at `position` (one block axis) -> EXPAND_DIMS (a unit height) -> VALID
    stride-1 conv -> RESHAPE to 3-D -> BATCH_TO_SPACE_ND. Folded to EXPAND_DIMS of the original input -> the
    convolution with dilation along the width -> RESHAPE writing the chain's output: (position -> new op or None,
    the tensors whose shapes change), or None."""
    s2b = ops[position]
    assert s2b is not None
    e = _consumer_of(ops, s2b.outputs[0], outputs, (OpKind.EXPAND_DIMS,))
    c = _consumer_of(ops, _output_of(ops, e), outputs, (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D)) if e is not None else None
    r = _consumer_of(ops, _output_of(ops, c), outputs, (OpKind.RESHAPE, OpKind.SQUEEZE)) if c is not None else None
    b = _consumer_of(ops, _output_of(ops, r), outputs, (OpKind.BATCH_TO_SPACE_ND,)) if r is not None else None
    if e is None or c is None or r is None or b is None:
        return None
    expand, conv, reshape, b2s = ops[e], ops[c], ops[r], ops[b]
    assert expand is not None and conv is not None and reshape is not None and b2s is not None
    o = conv.options
    assert isinstance(o, ConvOptions)
    x, y = tensors[s2b.inputs[0]], tensors[b2s.outputs[0]]
    block, pads = _const(tensors, s2b.inputs[1]), _const(tensors, s2b.inputs[2])
    block2, crops = _const(tensors, b2s.inputs[1]), _const(tensors, b2s.inputs[2])
    expanded, convolved = tensors[expand.outputs[0]].shape, tensors[conv.outputs[0]].shape
    if (block is None or len(block) != 1 or block != block2 or pads is None or crops is None or len(pads) != 2
            or len(crops) != 2 or len(x.shape) != 3 or len(y.shape) != 3 or len(expanded) != 4 or expanded[1] != 1
            or len(convolved) != 4 or (o.padding, o.stride_h, o.stride_w, o.dilation_h, o.dilation_w)
            != (Padding.VALID, 1, 1, 1, 1) or tensors[conv.inputs[1]].shape[1] != 1
            or not _same_quant(tensors, s2b.inputs[0], s2b.outputs[0])
            or not _same_quant(tensors, reshape.outputs[0], b2s.outputs[0])):
        return None
    d, k = block[0], tensors[conv.inputs[1]].shape[2]
    effective, start = (k - 1) * d + 1, pads[0] - crops[0]
    if (start, y.shape[1]) == ((effective - 1) // 2, x.shape[1]):
        padding = Padding.SAME
    elif (start, y.shape[1]) == (0, x.shape[1] - effective + 1):
        padding = Padding.VALID
    else:
        return None
    folded = [(position, None), (b, None),
              (e, replace(expand, inputs=(x.index, *expand.inputs[1:]))),
              (c, replace(conv, options=replace(o, padding=padding, dilation_w=d))),
              (r, replace(reshape, outputs=b2s.outputs))]
    shapes: dict[int, tuple[int, ...]] = {expand.outputs[0]: (1, 1, x.shape[1], x.shape[2]),
                                          conv.outputs[0]: (1, 1, y.shape[1], y.shape[2])}
    return folded, shapes


def _repeat(ops: list[Op | None], position: int, tensors: tuple[Tensor, ...],
            outputs: tuple[int, ...]) -> tuple[int, int, Op, tuple[int, ...]] | None:
    """EXPAND_DIMS at `position` -> TILE -> RESHAPE repeating one axis of a 4-D map: (TILE position, RESHAPE
    position, the RESIZE_NEAREST_NEIGHBOR op, its output shape), or None."""
    expand = ops[position]
    assert expand is not None
    x = tensors[expand.inputs[0]]
    axis = _const(tensors, expand.inputs[1]) if len(expand.inputs) == 2 else None
    if axis is None or len(axis) != 1 or len(x.shape) != 4:
        return None
    a = axis[0] % 5
    t = _sole_consumer(ops, expand.outputs[0], outputs)
    tile = ops[t] if t is not None else None
    source = expand
    if tile is not None and tile.kind is OpKind.RESHAPE and a in (2, 3):  # UpSampling2D's factor 1: no TILE
        r, reshape, multiples = t, tile, [1] * 5
        stored = tensors[reshape.outputs[0]].shape
        if len(stored) != 4 or stored[3] != x.shape[3]:
            return None  # some other reshape
    else:
        if tile is None or tile.kind is not OpKind.TILE or tile.inputs[0] != expand.outputs[0]:
            return None
        source = tile
        multiples = _const(tensors, tile.inputs[1])  # type: ignore[assignment]
        r = _sole_consumer(ops, tile.outputs[0], outputs)
        reshape = ops[r] if r is not None else None  # type: ignore[assignment]
    if (multiples is None or len(multiples) != 5 or a not in (2, 3) or reshape is None or t is None or r is None
            or reshape.kind is not OpKind.RESHAPE or reshape.inputs[0] != source.outputs[0]
            or any(m != 1 for k, m in enumerate(multiples) if k != a) or multiples[a] < 1
            or not _same_quant(tensors, expand.inputs[0], reshape.outputs[0])):
        return None
    shape = list(x.shape)
    shape[a - 1] *= multiples[a]
    op = Op(index=expand.index, kind=OpKind.RESIZE_NEAREST_NEIGHBOR, opcode_name="RESIZE_NEAREST_NEIGHBOR",
            inputs=(expand.inputs[0],), outputs=reshape.outputs,
            options=ResizeOptions(align_corners=False, half_pixel_centers=False, repeat=True))
    return t, r, op, tuple(shape)


_SPLITS = {OpKind.SPLIT: (1, 0), OpKind.SPLIT_V: (0, 2)}  # (data input position, axis input position)


def _split_parts(op: Op, tensors: tuple[Tensor, ...], used: set[int]) -> list[Op]:
    """A SPLIT / SPLIT_V as one op per output that something reads (the others are dead)."""
    data_at, axis_at = _SPLITS[op.kind]
    if len(op.inputs) <= max(data_at, axis_at):
        raise ModelFormatError(f"invalid .tflite model: {op.label} has {len(op.inputs)} inputs")
    x = tensors[op.inputs[data_at]]
    axis = _const(tensors, op.inputs[axis_at])
    if axis is None or len(axis) != 1:
        raise UnsupportedModelError(f"{op.label}: the split axis is not one constant value; tinyc splits along a "
                                    "constant axis (tf.split with a Python int axis)")
    if not x.shape or not -len(x.shape) <= axis[0] < len(x.shape):
        raise ModelFormatError(f"invalid .tflite model: {op.label}: axis {axis[0]} of a rank-{len(x.shape)} input")
    a = axis[0] % len(x.shape)
    parts, offset = [], 0
    for t in op.outputs:
        y = tensors[t].shape
        if len(y) != len(x.shape) or any(d != e for k, (d, e) in enumerate(zip(y, x.shape)) if k != a):
            raise ModelFormatError(f"invalid .tflite model: {op.label}: output {tensors[t].name!r} of shape {y} is no "
                                   f"part of input {x.shape} along axis {a}")
        if t in used:
            parts.append(replace(op, inputs=(x.index,), outputs=(t,), options=SplitPartOptions(axis=a, offset=offset)))
        offset += y[a]
    if offset != x.shape[a]:
        raise ModelFormatError(f"invalid .tflite model: {op.label}: the outputs add up to {offset} along axis {a}, "
                               f"the input has {x.shape[a]}")
    return parts


def split_outputs(ops: tuple[Op, ...], tensors: tuple[Tensor, ...], outputs: tuple[int, ...]) -> tuple[Op, ...]:
    """Every SPLIT / SPLIT_V replaced by one op per used output (positions renumbered later)."""
    used = set(outputs) | {i for op in ops for i in op.inputs}
    result: list[Op] = []
    for op in ops:
        split = op.kind in _SPLITS and not isinstance(op.options, SplitPartOptions)
        result.extend(_split_parts(op, tensors, used) if split else [op])
    return tuple(result)


_MOVES = (OpKind.SPLIT, OpKind.SPLIT_V, OpKind.TRANSPOSE, OpKind.STRIDED_SLICE, OpKind.RESHAPE)


def _float_moves(ops: tuple[Op, ...], tensors: tuple[Tensor, ...], outputs: tuple[int, ...]) -> tuple[Op, ...]:
    """DEQUANTIZE -> ops that only move values (split parts, transposes, slices, reshapes) -> QUANTIZE back to the
    same scale and zero point, as int8 moves: the converter leaves a split with an unused output in float this way.
    quantize(dequantize(q)) is q exactly (|q - zero point| <= 255 stays an integer to well within float32's rounding),
    so the values are the same; the folded move writes the QUANTIZE's tensor."""
    work: list[Op | None] = list(ops)
    for position, op in enumerate(ops):
        if op.kind is not OpKind.DEQUANTIZE or op.outputs[0] in outputs or len(op.inputs) != 1:
            continue
        q = tensors[op.inputs[0]]
        moves = [k for k, m in enumerate(work) if m is not None and op.outputs[0] in m.inputs]
        folds = []
        for k in moves:
            m = work[k]
            assert m is not None
            z = _sole_consumer(work, m.outputs[0], outputs) if m.kind in _MOVES and m.inputs[0] == op.outputs[0] else None
            back = work[z] if z is not None else None
            if z is None or back is None or back.kind is not OpKind.QUANTIZE or \
                    not _same_quant(tensors, q.index, back.outputs[0]):
                break
            folds.append((k, z, replace(m, inputs=(q.index, *m.inputs[1:]), outputs=back.outputs)))
        else:
            if folds:
                work[position] = None
                for k, z, folded in folds:
                    work[k], work[z] = folded, None
    return tuple(op for op in work if op is not None)


def fold_patterns(ops: tuple[Op, ...], tensors: tuple[Tensor, ...],
                  outputs: tuple[int, ...]) -> tuple[tuple[Op, ...], tuple[Tensor, ...]]:
    """The ops with every dilated-convolution, UpSampling2D and last-step LSTM chain folded and every split given one op
    per output (renumbered in order), and the tensors with the folded upsamples' output shapes set (and a folded LSTM's
    output named after the LSTM)."""
    work: list[Op | None] = list(_float_moves(split_outputs(ops, tensors, outputs), tensors, outputs))
    shapes: dict[int, tuple[int, ...]] = {}
    names: dict[int, str] = {}
    for position, op in enumerate(list(work)):
        if op is None or work[position] is None:
            continue
        if op.kind is OpKind.SPACE_TO_BATCH_ND and len(op.inputs) == 3:
            found = _dilated(work, position, tensors, outputs)
            if found is not None:
                c, b, fused = found
                work[position], work[c], work[b] = None, None, fused
            else:
                found_1d = _dilated_1d(work, position, tensors, outputs)
                for at, new in found_1d[0] if found_1d is not None else ():
                    work[at] = new
                shapes.update(found_1d[1] if found_1d is not None else {})
        elif op.kind is OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM and isinstance(op.options, LstmOptions):
            k = _sole_consumer(work, op.outputs[0], outputs)
            last = work[k] if k is not None else None
            if last is not None and last.kind is OpKind.STRIDED_SLICE and last.inputs[0] == op.outputs[0] and \
                    is_last_step_slice(op, last, tensors):
                work[position], work[k] = None, replace(op, outputs=last.outputs,  # type: ignore[index]
                                                        options=replace(op.options, return_sequences=False))
                names[last.outputs[0]] = tensors[op.outputs[0]].name  # the LSTM's layer, not the slice's
        elif op.kind is OpKind.EXPAND_DIMS:
            view = tuple(replace(t, shape=shapes[t.index]) if t.index in shapes else t for t in tensors)
            repeat = _repeat(work, position, view, outputs)
            if repeat is not None:
                t, r, resize, shape = repeat
                work[position], work[t] = None, None
                work[r] = resize  # t == r when there is no TILE
                shapes[resize.outputs[0]] = shape
    folded = [op for op in work if op is not None]
    folded = _merge_repeats(folded, outputs)
    new_tensors = tuple(replace(t, shape=shapes[t.index]) if t.index in shapes else t for t in tensors)
    new_tensors = tuple(replace(t, name=names[t.index]) if t.index in names else t for t in new_tensors)
    if shapes:
        new_tensors = _reinfer_shapes(folded, new_tensors, set(shapes))
    return tuple(replace(op, index=i) for i, op in enumerate(folded)), new_tensors


_SAME_SHAPE = (OpKind.RELU, OpKind.RELU6, OpKind.LOGISTIC, OpKind.TANH, OpKind.HARD_SWISH, OpKind.LEAKY_RELU,
               OpKind.QUANTIZE, OpKind.SOFTMAX, OpKind.PRELU)
_BROADCAST = (OpKind.ADD, OpKind.MUL, OpKind.SUB, OpKind.MAXIMUM, OpKind.MINIMUM)


def _out_size(padding: Padding, size: int, kernel: int, stride: int, dilation: int) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size + stride - 1) // stride if padding is Padding.SAME else (size + stride - effective) // stride


def _inferred_shape(op: Op, shape: dict[int, tuple[int, ...]], tensors: tuple[Tensor, ...]) -> tuple[int, ...] | None:
    """The output shape that follows from the inputs' shapes, for the ops where it does (else None)."""
    x = shape[op.inputs[0]]
    o = op.options
    if op.kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D) and isinstance(o, ConvOptions) and len(x) == 4:
        w = shape[op.inputs[1]]
        return (x[0], _out_size(o.padding, x[1], w[1], o.stride_h, o.dilation_h),
                _out_size(o.padding, x[2], w[2], o.stride_w, o.dilation_w),
                w[3] if op.kind is OpKind.DEPTHWISE_CONV_2D else w[0])
    if op.kind in (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D) and isinstance(o, PoolOptions) and len(x) == 4:
        return (x[0], _out_size(o.padding, x[1], o.filter_h, o.stride_h, 1),
                _out_size(o.padding, x[2], o.filter_w, o.stride_w, 1), x[3])
    if op.kind in _SAME_SHAPE:
        return x
    if op.kind in _BROADCAST and len(op.inputs) == 2:
        return tuple(int(d) for d in np.broadcast_shapes(x, shape[op.inputs[1]]))
    if op.kind is OpKind.CONCATENATION and isinstance(o, ActivationOptions):
        axis = o.axis % len(x)
        return tuple(sum(shape[i][axis] for i in op.inputs) if k == axis else d for k, d in enumerate(x))
    if op.kind is OpKind.PAD:
        pads = _const(tensors, op.inputs[1])
        if pads is not None and len(pads) == 2 * len(x):
            return tuple(d + pads[2 * k] + pads[2 * k + 1] for k, d in enumerate(x))
    return None


def _reinfer_shapes(ops: list[Op], tensors: tuple[Tensor, ...], changed: set[int]) -> tuple[Tensor, ...]:
    """The converter derives the static shapes after an UpSampling2D chain from the wrong shape it stores for the
    chain's last RESHAPE (height 1): below a folded resize, each op whose output shape follows from its inputs gets
    that shape (the others keep the stored one; `check_shapes` judges them)."""
    shape = {t.index: t.shape for t in tensors}
    for op in ops:
        if not changed.intersection(op.inputs) or any(i < 0 for i in op.inputs[:1]):
            continue
        inferred = _inferred_shape(op, shape, tensors)
        if inferred is not None and inferred != shape[op.outputs[0]]:
            shape[op.outputs[0]] = inferred
            changed.add(op.outputs[0])
    return tuple(replace(t, shape=shape[t.index]) if shape[t.index] != t.shape else t for t in tensors)


def _merge_repeats(ops: list[Op], outputs: tuple[int, ...]) -> list[Op]:
    """A folded row repeat whose output only a folded column repeat reads becomes one resize."""
    work: list[Op | None] = list(ops)
    for position, op in enumerate(ops):
        if work[position] is None or not _is_repeat(op):
            continue
        n = _sole_consumer(work, op.outputs[0], outputs)
        nxt = work[n] if n is not None else None
        if nxt is not None and _is_repeat(nxt):
            work[position] = None
            work[n] = replace(nxt, inputs=op.inputs)  # type: ignore[index]
    return [op for op in work if op is not None]


def _is_repeat(op: Op) -> bool:
    return isinstance(op.options, ResizeOptions) and op.options.repeat


def _float32(tensors: tuple[Tensor, ...], index: int) -> bool:
    return tensors[index].dtype.value == "float32"


def _int8(tensors: tuple[Tensor, ...], index: int) -> bool:
    return tensors[index].dtype.value == "int8" and tensors[index].quant is not None


def strip_float_edges(ops: tuple[Op, ...], tensors: tuple[Tensor, ...], inputs: tuple[int, ...],
                      outputs: tuple[int, ...]) -> tuple[tuple[Op, ...], tuple[int, ...], tuple[int, ...], bool, bool]:
    """A float32 model input read only by a QUANTIZE to int8, and a float32 model output written by a DEQUANTIZE of
    int8: the ops without those two, the int8 tensors beside them as the graph's input and output, and which edge was
    float (the ops renumbered later)."""
    work = list(ops)
    float_input = float_output = False
    if len(inputs) == 1 and _float32(tensors, inputs[0]):
        users = [op for op in work if inputs[0] in op.inputs]
        if (len(users) == 1 and users[0].kind is OpKind.QUANTIZE and users[0].inputs == inputs
                and _int8(tensors, users[0].outputs[0]) and users[0].outputs[0] not in outputs):
            work.remove(users[0])
            inputs, float_input = users[0].outputs, True
    if len(outputs) == 1 and _float32(tensors, outputs[0]):
        last = next((op for op in work if outputs[0] in op.outputs), None)
        if (last is not None and last.kind is OpKind.DEQUANTIZE and _int8(tensors, last.inputs[0])
                and last.inputs[0] not in inputs):
            work.remove(last)
            outputs, float_output = last.inputs, True
    return tuple(work), inputs, outputs, float_input, float_output
