"""Which C kernel each schedule step calls, and with which symbols: Python's decision, printed by the macros of
`firmware_templates/common/steps.c.j2`.

One registry entry per `KernelKind` (a test renders every one); the templates never compare kind names or build
symbol names themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from tinyc.ir.lower import Call, ConstArray, ConvCall, FullyConnectedCall, KernelKind
from tinyc.plan.constants import stage_layout
from tinyc.plan.schedule import Step
from tinyc.plan.specialize import GENERIC, KernelChoice, Variant

CONST_ROLES = ("weights", "bias", "multiplier", "shift", "table", "operand")  # the suffixes lowering gives a call's constant arrays


def c_symbol(array: ConstArray) -> str:
    """The C name of a constant array in model_weights.c."""
    return f"tinyc_{array.name}"


@dataclass(frozen=True)
class StepCode:
    """What one step's C function prints: the macro of steps.c.j2, the kernel function and the constants' symbols."""
    macro: str
    function: str
    depthwise: bool = False
    weights: str | None = None
    bias: str | None = None
    multiplier: str | None = None
    shift: str | None = None
    table: str | None = None
    operand: str | None = None  # a binary op's constant operand
    fast: KernelChoice = GENERIC  # a specialized kernel beside the generic call (FAST_CONV: the conv macro's)
    fast_weights: str | None = None
    fast_quant: str | None = None
    fast_live: str = "NULL"  # tinyc_fast_conv_s8's live channel numbers and constant row (NULL: every channel live)
    fast_row: str = "NULL"
    fast_args: tuple[tuple[str, int], ...] = ()  # tinyc_fast_conv_s8's tinyc_fast_conv_shape, by field
    stage: tuple[tuple[str, int, int], ...] = ()  # --constants stage: (array, word offset, bytes: whole words)

    @property
    def fast_macro(self) -> str | None:
        """The steps.c.j2 macro of the specialized kernel, or None (the generic call only)."""
        return FAST_MACROS.get(self.fast.variant)

    @property
    def fast_guard(self) -> str:
        """The C macro that is 1 where the specialized kernel is compiled (its core's extension, not a portable or
        Arm CMSIS-NN build)."""
        helium = self.fast.variant in (Variant.HELIUM_CONV, Variant.HELIUM_DEPTHWISE)
        return "TINYC_HELIUM_KERNELS" if helium else "TINYC_FAST_KERNELS"


@dataclass(frozen=True)
class StepContext:
    step: Step
    streamed_input: int | None  # the graph input when the application streams it, else None


def _int4(c: StepContext) -> bool:
    """The call's weights are packed int4 (lowering's ConvCall.weight_bits): the s4 wrappers, never in place."""
    return isinstance(c.step.call, ConvCall) and c.step.call.weight_bits == 4


def _conv(c: StepContext) -> tuple[str, str]:
    if _int4(c):
        return ("conv", "arm_convolve_wrapper_s4")
    return ("conv", "tinyc_conv1x1_inplace_s8" if c.step.in_place else "arm_convolve_wrapper_s8")


def _depthwise(c: StepContext) -> tuple[str, str]:
    if _int4(c):
        return ("conv", "arm_depthwise_conv_wrapper_s4")
    return ("conv", "tinyc_depthwise_conv_inplace_s8" if c.step.in_place else "arm_depthwise_conv_wrapper_s8")


def _fully_connected(c: StepContext) -> tuple[str, str]:
    per_channel = bool(getattr(c.step.call, "per_channel"))  # a FullyConnectedCall's
    return ("fully_connected", "arm_fully_connected_per_channel_s8" if per_channel else "arm_fully_connected_s8")


def _copy(c: StepContext) -> tuple[str, str]:
    if c.streamed_input is not None and c.step.call.inputs[0] == c.streamed_input:
        return ("read_input", "tinyc_read_input_block")  # the application serves the input block
    return ("copy", "tinyc_copy_block_s8")


def _fixed(macro: str, function: str) -> Callable[[StepContext], tuple[str, str]]:
    return lambda c: (macro, function)


KERNELS: dict[KernelKind, Callable[[StepContext], tuple[str, str]]] = {
    KernelKind.CONV: _conv,
    KernelKind.DEPTHWISE_CONV: _depthwise,
    KernelKind.FULLY_CONNECTED: _fully_connected,
    KernelKind.ADD: _fixed("add", "arm_elementwise_add_s8"),
    KernelKind.AVGPOOL: _fixed("pool", "arm_avgpool_s8"),
    KernelKind.MAXPOOL: _fixed("pool", "arm_max_pool_s8"),
    KernelKind.MEAN: _fixed("mean", "tinyc_mean_s8"),
    KernelKind.SOFTMAX: _fixed("softmax", "arm_softmax_s8"),
    KernelKind.PAD: _fixed("pad", "arm_pad_s8"),
    KernelKind.CONCAT: _fixed("concat", "arm_concatenation_s8_x"),
    KernelKind.RELU: _fixed("relu", "tinyc_relu_s8"),
    KernelKind.RESHAPE: _fixed("alias", ""),  # the output aliases the input: no call
    KernelKind.COPY: _copy,
    KernelKind.LUT: _fixed("lut", "tinyc_lut_s8"),
    KernelKind.MUL: _fixed("mul", "tinyc_mul_s8"),
    KernelKind.SUB: _fixed("sub", "tinyc_sub_s8"),
    KernelKind.ADD_BROADCAST: _fixed("sub", "tinyc_add_s8"),  # SUB's parameter fields
    KernelKind.MAXIMUM: _fixed("compare", "tinyc_maximum_s8"),
    KernelKind.MINIMUM: _fixed("compare", "tinyc_minimum_s8"),
    KernelKind.RESIZE_NEAREST: _fixed("resize", "tinyc_resize_nearest_s8"),
    KernelKind.RESIZE_BILINEAR: _fixed("resize", "tinyc_resize_bilinear_s8"),
    KernelKind.PRELU: _fixed("prelu", "tinyc_prelu_s8"),
    KernelKind.TRANSPOSE_CONV: _fixed("transpose_conv", "tinyc_transpose_conv_s8"),
    KernelKind.STRIDED_COPY: _fixed("strided_copy", "tinyc_strided_copy_s8"),
    KernelKind.LSTM: _fixed("lstm", "tinyc_lstm_s8"),
}


FAST_MACROS = {Variant.FAST_CONV: "fast_conv", Variant.FAST_DEPTHWISE: "fast_depthwise", Variant.FAST_ADD: "fast_add",
               Variant.FAST_FC: "fast_fc", Variant.FAST_AVGPOOL: "fast_avgpool", Variant.HELIUM_CONV: "helium_conv",
               Variant.HELIUM_DEPTHWISE: "helium_depthwise"}


FAST_CONV_FIELDS = ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "k_h", "k_w", "stride_h", "stride_w", "pad_h",
                    "pad_w", "pad_value", "out_offset", "act_min", "act_max")  # tinyc_fast_conv_shape's, in order


def fast_conv_args(call: Call) -> tuple[tuple[str, int], ...]:
    """tinyc_fast_conv_shape's fields (FAST_CONV_FIELDS) and values: the shapes, the pad value (the input zero
    point), the output offset and the activation range. A fully connected layer is a 1x1 convolution over its
    input rows."""
    if isinstance(call, FullyConnectedCall):
        rows, depth = call.input_dims.n, call.input_dims.c
        shape = (1, rows, depth, 1, rows, call.output_dims.c, 1, 1, 1, 1, 0, 0)
    else:
        assert isinstance(call, ConvCall)
        i, o, f = call.input_dims, call.output_dims, call.filter_dims
        shape = (i.h, i.w, i.c, o.h, o.w, o.c, f.h, f.w, call.stride_h, call.stride_w, call.pad_h, call.pad_w)
    values = (*shape, -call.input_offset, call.output_offset, call.act_min, call.act_max)
    return tuple(zip(FAST_CONV_FIELDS, values, strict=True))


STAGE_BUFFER = "tinyc_constants_stage"  # model.c's int32_t buffer of --constants stage


def step_code(step: Step, *, streamed_input: int | None, choice: KernelChoice = GENERIC,
              staged: frozenset[str] = frozenset()) -> StepCode:
    macro, function = KERNELS[step.call.kind](StepContext(step, streamed_input))
    symbols = {role: c_symbol(a) for a in step.call.consts for role in CONST_ROLES if a.name.endswith(f"_{role}")}
    code = StepCode(macro=macro, function=function, depthwise=step.call.kind is KernelKind.DEPTHWISE_CONV,
                    weights=symbols.get("weights"), bias=symbols.get("bias"), multiplier=symbols.get("multiplier"),
                    shift=symbols.get("shift"), table=symbols.get("table"), operand=symbols.get("operand"),
                    fast=choice)
    if choice.variant is Variant.FAST_ADD:
        return replace(code, fast_weights=c_symbol(choice.consts[0]))
    if not choice.consts:
        return code
    code = replace(code, fast_weights=c_symbol(choice.weights),
                   fast_quant=c_symbol(choice.quant) if len(choice.consts) > 1 else None,
                   fast_args=fast_conv_args(step.call))
    if staged and choice.variant is Variant.FAST_CONV and choice.weights.name in staged:
        layout = stage_layout((choice.weights, choice.quant))
        stage = tuple((c_symbol(a), offset // 4, -(-a.size_bytes // 4) * 4) for a, offset in layout)
        at = {a.name: f"((const {a.ctype} *)(const void *)&{STAGE_BUFFER}[{offset // 4}])" for a, offset in layout}
        code = replace(code, stage=stage, fast_weights=at[choice.weights.name], fast_quant=at[choice.quant.name])
    if choice.live is not None and choice.row is not None:
        code = replace(code, fast_live=c_symbol(choice.live), fast_row=c_symbol(choice.row))
    return code
