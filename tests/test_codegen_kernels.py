"""Every kernel kind has a registry entry whose macro exists in steps.c.j2 and whose C function is declared by
the kernel headers tinyc ships; the generated code only ever calls what Python chose."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from conftest import REPO
from tinyc.codegen.kernels import KERNELS, StepContext
from tinyc.codegen.templates import environment
from tinyc.ir.lower import KernelKind


def every_choice() -> set[tuple[KernelKind, str, str]]:
    """(kind, macro, function) for every kind under every flag the registry looks at."""
    choices = set()
    for kind, in_place, per_channel, streamed in itertools.product(KernelKind, (False, True), (False, True),
                                                                   (None, 0)):
        call = SimpleNamespace(kind=kind, per_channel=per_channel, inputs=(0,), consts=())
        macro, function = KERNELS[kind](StepContext(SimpleNamespace(in_place=in_place, call=call), streamed))  # type: ignore[arg-type]
        choices.add((kind, macro, function))
    return choices


def test_every_kernel_kind_has_an_entry() -> None:
    assert set(KERNELS) == set(KernelKind)


def test_every_macro_exists_and_every_function_is_declared() -> None:
    module = environment().get_template("common/steps.c.j2").make_module(
        {"offset": {}, "scratch": [], "stream_input": False, "input": 0})
    headers = "\n".join(p.read_text() for p in (REPO / "tinyc" / "kernels").rglob("*.h"))
    choices = every_choice()
    assert {macro for _, macro, _ in choices} == {"conv", "fully_connected", "add", "pool", "mean", "softmax", "pad",
                                                  "concat", "relu", "read_input", "copy", "alias", "lut", "mul",
                                                  "sub", "compare", "resize", "prelu", "transpose_conv", "strided_copy",
                                                  "lstm"}
    for kind, macro, function in sorted(choices, key=str):
        assert callable(getattr(module, macro, None)), f"{kind}: no macro {macro!r} in steps.c.j2"
        if function != "tinyc_read_input_block":  # declared in model.h: the application defines it
            assert not function or f"{function}(" in headers, f"{kind}: {function} is declared by no kernel header"
