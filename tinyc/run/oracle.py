"""The reference: TFLite Micro's interpreter (TFLM reference kernels, which CMSIS-NN matches bit for bit).

LiteRT with the BUILTIN_REF resolver is a second opinion only; its disagreements with TFLM are
reported, never used to pass or fail. LiteRT's default (optimized) kernels are never used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dataclasses import dataclass

import numpy as np

from tinyc.errors import TinycError
from tinyc.frontend.convert import quiet_tensorflow, silenced_stdio


def _tflm() -> Any:
    quiet_tensorflow()
    from tflite_micro.python.tflite_micro import runtime
    return runtime


def _arena_for(model_bytes: bytes) -> int:
    return max(64 * 1024, 12 * len(model_bytes))


class OracleCrash(TinycError):
    """The reference interpreter itself died on the model."""


def _in_child(name: str, function, *args):  # type: ignore[no-untyped-def]
    """Run a reference interpreter in a child process: TFLM and LiteRT's reference kernels abort the
    whole process on some models (seen on a 192x192 MCUNet-style network); tinyc must survive to say so."""
    import concurrent.futures
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool:
            raise OracleCrash(f"{name} aborted while running this model (a crash inside {name}, "
                              "not a comparison result)") from None
        except (RuntimeError, ValueError) as error:  # no kernel for an op of the model (TILE): it cannot allocate
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise OracleCrash(f"{name} could not run this model ({first_line})") from None


def tflm_outputs(model_bytes: bytes, samples: list[np.ndarray]) -> list[np.ndarray]:
    """TFLM's outputs for int8 samples (flat), computed in a child process."""
    outputs: list[np.ndarray] = _in_child("TFLite Micro's interpreter", _tflm_outputs_here, model_bytes, samples)
    return outputs


def _tflm_outputs_here(model_bytes: bytes, samples: list[np.ndarray]) -> list[np.ndarray]:
    """Run each int8 sample through TFLM's reference interpreter; returns flat int8 outputs."""
    runtime = _tflm()
    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=_arena_for(model_bytes))
    shape = interpreter.get_input_details(0)["shape"]
    outputs = []
    for sample in samples:
        interpreter.set_input(np.asarray(sample, dtype=np.int8).reshape(shape), 0)
        interpreter.invoke()
        outputs.append(np.asarray(interpreter.get_output(0), dtype=np.int8).reshape(-1).copy())
        interpreter.reset()
    return outputs


def tflm_tensors(model_bytes: bytes, sample: np.ndarray, tensor_indices: list[int]) -> dict[int, np.ndarray]:
    """Every listed tensor after one invoke (TFLM with kPreserveAllTensors), flat int8."""
    runtime = _tflm()
    interpreter = runtime.Interpreter.from_bytes(model_bytes, arena_size=_arena_for(model_bytes) * 4,
                                                 intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    shape = interpreter.get_input_details(0)["shape"]
    interpreter.set_input(np.asarray(sample, dtype=np.int8).reshape(shape), 0)
    interpreter.invoke()
    return {i: np.asarray(interpreter.GetTensor(i, 0)["tensor_data"]).astype(np.int8).reshape(-1)
            for i in tensor_indices}


ARENA_ALIGNMENT = 16  # TFLM aligns its arena to 16 bytes; the bisection tries multiples of it


def tflm_arena_bytes(model_bytes: bytes) -> int:
    """The smallest arena (a multiple of 16 bytes) with which TFLM allocates the model, by bisection in a child
    process; for a model with chains tinyc folds, TFLM's arena for the native ops they stand for
    (`with_native_ops`). TFLM aborts on some arena sizes that are too small instead of failing (seen on the
    anomaly-detection autoencoder, at sizes that are not multiples of 16 and, after failed attempts, at others): if
    the child dies, each size is tried in its own process, a death counting as does not allocate."""
    native = with_native_ops(model_bytes)
    model = native[0] if native is not None else model_bytes
    try:
        return int(_in_child("TFLite Micro's interpreter", _tflm_arena_bytes_here, model))
    except OracleCrash:
        return _smallest_arena(lambda size: _allocates_in_child(model, size), _arena_for(model))


def _allocates_in_child(model_bytes: bytes, size: int) -> bool:
    try:
        return bool(_in_child("TFLite Micro's interpreter", _allocates, model_bytes, size))
    except OracleCrash:
        return False


def _allocates(model_bytes: bytes, size: int) -> bool:
    try:
        with silenced_stdio():
            _tflm().Interpreter.from_bytes(model_bytes, arena_size=size)
        return True
    except Exception:  # TFLM raises RuntimeError-like errors when the arena is too small
        return False


def _tflm_arena_bytes_here(model_bytes: bytes) -> int:
    return _smallest_arena(lambda size: _allocates(model_bytes, size), _arena_for(model_bytes))


def _smallest_arena(allocates: Callable[[int], bool], start: int) -> int:
    """Bisection over multiples of ARENA_ALIGNMENT."""
    low, high = 0, -(-start // ARENA_ALIGNMENT)
    while not allocates(high * ARENA_ALIGNMENT):
        if high * ARENA_ALIGNMENT > 1 << 30:
            raise RuntimeError("TFLM does not allocate the model with any arena (an op without a kernel?)")
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if allocates(mid * ARENA_ALIGNMENT):
            high = mid
        else:
            low = mid
    return high * ARENA_ALIGNMENT


@dataclass(frozen=True)
class SecondOpinion:
    """LiteRT BUILTIN_REF vs TFLM: how many output bytes differ, and by how much at most."""
    differing_bytes: int
    max_abs_diff: int
    total_bytes: int


def litert_ref_outputs(model_bytes: bytes, samples: list[np.ndarray]) -> list[np.ndarray]:
    """LiteRT BUILTIN_REF outputs for int8 samples (flat), computed in a child process."""
    outputs: list[np.ndarray] = _in_child("LiteRT's BUILTIN_REF interpreter", _litert_ref_outputs_here, model_bytes,
                                          samples)
    return outputs


def _litert_ref_outputs_here(model_bytes: bytes, samples: list[np.ndarray]) -> list[np.ndarray]:
    quiet_tensorflow()
    from ai_edge_litert import interpreter as litert
    with silenced_stdio():
        interp = litert.Interpreter(model_content=model_bytes,
                                    experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
        interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    outputs = []
    for sample in samples:
        interp.set_tensor(inp["index"], np.asarray(sample, dtype=np.int8).reshape(inp["shape"]))
        interp.invoke()
        outputs.append(interp.get_tensor(out["index"]).astype(np.int8).reshape(-1).copy())
    return outputs


def second_opinion(model_bytes: bytes, samples: list[np.ndarray], reference: list[np.ndarray]) -> SecondOpinion | None:
    """None when LiteRT's reference interpreter crashed on the model."""
    try:
        other = litert_ref_outputs(model_bytes, samples)
    except OracleCrash:
        return None
    diffs = [np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in zip(other, reference)]
    return SecondOpinion(differing_bytes=int(sum(int((d > 0).sum()) for d in diffs)),
                         max_abs_diff=int(max((int(d.max()) for d in diffs if d.size), default=0)),
                         total_bytes=int(sum(d.size for d in diffs)))


DILATED_NOTE = ("dilated convolutions as native dilated CONV_2D / DEPTHWISE_CONV_2D (TFLM computes the converter's "
                "chain wrongly)")


def with_native_ops(model_bytes: bytes) -> tuple[bytes, tuple[str, ...]] | None:
    """The model with the converter's chains that tinyc folds (`tinyc.ir.patterns`) replaced by the one native op
    each stands for, and without a float32 interface's edge QUANTIZE / DEQUANTIZE (the int8 core the firmware runs),
    with a note per kind of change; None when the model has none. TFLite Micro cannot run these
    chains as converted: for a dilated convolution (SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND) the file records
    batch 1 for the dilation^2 sub-images and TFLM sizes tensors from it (its output differs from LiteRT's, whose
    kernels agree with the native dilated convolution); UpSampling2D's EXPAND_DIMS -> TILE -> RESHAPE needs TILE,
    which neither TFLM nor LiteRT's BUILTIN_REF resolver has for int8. The native ops: a dilated CONV_2D /
    DEPTHWISE_CONV_2D and RESIZE_NEAREST_NEIGHBOR (an integer factor repeats rows and columns exactly, as TILE)."""
    from tinyc.ir.graph import ConvOptions, OpKind, Padding, ResizeOptions
    from tinyc.ir.reader import read_tflite

    graph = read_tflite(model_bytes)
    dilated = {op.outputs[0]: op for op in graph.ops if isinstance(op.options, ConvOptions)
               and (op.options.dilation_h, op.options.dilation_w) != (1, 1)}
    resizes = {op.outputs[0]: op for op in graph.ops if isinstance(op.options, ResizeOptions) and op.options.repeat}
    edges = graph.float_edges.input or graph.float_edges.output
    if not dilated and not resizes and not edges:
        return None
    quiet_tensorflow()
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    sub = model.subgraphs[0]
    by_output = {int(o.outputs[0]): o for o in sub.operators}
    replaced: dict[int, Any] = {}  # id of the op a native op replaces -> the native op (None: dropped)
    notes = []
    producers = graph.producer()

    def builtin(o: Any) -> int:
        return int(max(model.operatorCodes[o.opcodeIndex].builtinCode,
                       model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode))

    for output, op in dilated.items():
        b2s = by_output.get(output)
        if b2s is not None and builtin(b2s) in (schema.BuiltinOperator.CONV_2D,
                                                schema.BuiltinOperator.DEPTHWISE_CONV_2D):
            # A dilated Conv1D, folded as EXPAND_DIMS -> conv -> RESHAPE: the file's EXPAND_DIMS reads the chain's
            # input, the conv dilates along the width, the RESHAPE writes the chain's output (its shape from the
            # output tensor: no shape input).
            conv, expand = b2s, by_output.get(op.inputs[0])
            reshape = next((o for o in sub.operators if len(o.inputs) and int(o.inputs[0]) == output), None)
            folded_reshape = next((o for o in graph.ops if o.inputs[:1] == (output,)), None)
            if expand is None or reshape is None or folded_reshape is None:
                continue
            expand.inputs[0] = producers[op.inputs[0]].inputs[0]
            assert isinstance(op.options, ConvOptions)
            conv.builtinOptions.padding = schema.Padding.SAME if op.options.padding is Padding.SAME else schema.Padding.VALID
            conv.builtinOptions.dilationWFactor = op.options.dilation_w
            chain_end = by_output.get(folded_reshape.outputs[0])
            reshape.inputs, reshape.outputs = [output], [folded_reshape.outputs[0]]
            replaced[id(chain_end)] = None
            notes.append(DILATED_NOTE)
            continue
        if b2s is None or builtin(b2s) != schema.BuiltinOperator.BATCH_TO_SPACE_ND:
            continue
        conv = by_output.get(int(b2s.inputs[0]))
        if conv is None:
            continue
        assert isinstance(op.options, ConvOptions)
        conv.inputs[0] = op.inputs[0]
        conv.outputs[0] = output
        conv.builtinOptions.padding = schema.Padding.SAME if op.options.padding is Padding.SAME else schema.Padding.VALID
        conv.builtinOptions.dilationHFactor = op.options.dilation_h
        conv.builtinOptions.dilationWFactor = op.options.dilation_w
        replaced[id(b2s)] = conv
        replaced[id(conv)] = None  # moved to where BATCH_TO_SPACE_ND was
        notes.append(DILATED_NOTE)
    if resizes:
        code = schema.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RESIZE_NEAREST_NEIGHBOR
        code.version = 3
        model.operatorCodes.append(code)
        for output, op in resizes.items():
            size = schema.BufferT()
            size.data = np.asarray(graph.tensor(output).shape[1:3], dtype="<i4").view(np.uint8)
            model.buffers.append(size)
            size_tensor = schema.TensorT()
            size_tensor.shape, size_tensor.type, size_tensor.buffer = [2], schema.TensorType.INT32, len(model.buffers) - 1
            size_tensor.name = f"tinyc_resize_size_{output}".encode()
            sub.tensors.append(size_tensor)
            resize = schema.OperatorT()
            resize.opcodeIndex = len(model.operatorCodes) - 1
            resize.inputs, resize.outputs = [op.inputs[0], len(sub.tensors) - 1], [output]
            resize.builtinOptionsType = schema.BuiltinOptions.ResizeNearestNeighborOptions
            resize.builtinOptions = schema.ResizeNearestNeighborOptionsT()
            replaced[id(by_output[output])] = resize
        notes.append("UpSampling2D as native RESIZE_NEAREST_NEIGHBOR (neither TFLM nor BUILTIN_REF has int8 TILE)")
    for tensor in graph.tensors:  # shapes tinyc set (a folded resize's output, and the shapes derived from it)
        if list(tensor.shape) != [int(d) for d in sub.tensors[tensor.index].shape]:
            sub.tensors[tensor.index].shape = list(tensor.shape)
            sub.tensors[tensor.index].shapeSignature = None
    if edges:  # the int8 core: its edge QUANTIZE / DEQUANTIZE fall away below, nothing reading their outputs
        sub.inputs, sub.outputs = list(graph.inputs), list(graph.outputs)
        notes.append("the model's float32 interface left out: the reference runs its int8 core, between the input "
                     "QUANTIZE and the output DEQUANTIZE, as the firmware does (the API converts floats as those ops)")
    operators = [replaced.get(id(o), o) for o in sub.operators]
    operators = [o for o in operators if o is not None]
    needed = {int(i) for i in sub.outputs}
    kept = []
    for o in reversed(operators):  # drop the chains' ops nothing reads any more (and the float edges)
        if needed.intersection(int(i) for i in o.outputs) and not set(int(i) for i in o.outputs) & set(graph.inputs):
            kept.append(o)
            needed.update(int(i) for i in o.inputs if int(i) >= 0)
    sub.operators = kept[::-1]
    note = "TFLite Micro ran the model as tinyc reads it: " + "; ".join(sorted(set(notes)))
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), (note,)
