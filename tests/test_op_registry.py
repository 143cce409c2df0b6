"""Every op the support table accepts has an entry in every table an op needs on its way through tinyc: its shape
rules and arity (the .tflite check), its lowering, and for the kernel kind it lowers to a C call in code generation
and a macro in the step template. A new op that misses one fails here, not in a user's model."""

from __future__ import annotations

import re

from tinyc.codegen import kernels
from tinyc.ir import lower, shape_rules, support
from tinyc.ir.lower import KernelKind
from tinyc.resources import templates_dir


def test_every_supported_op_has_shape_rules_arity_and_a_lowering() -> None:
    supported = set(support.SUPPORTED)
    assert supported - set(shape_rules.RULES) == set()
    assert supported - set(shape_rules._ARITY) == set()
    assert supported == set(lower._LOWERINGS)


def test_every_kernel_kind_has_a_c_call_and_its_step_macro() -> None:
    assert set(KernelKind) == set(kernels.KERNELS)
    steps = (templates_dir() / "common" / "steps.c.j2").read_text()
    defined = set(re.findall(r"{%-?\s*macro\s+(\w+)\(", steps))
    # the (macro, C function) pairs the registry's entries return, as written in tinyc/codegen/kernels.py
    source = open(kernels.__file__).read()
    macros = set(re.findall(r'(?:return \(|_fixed\()"(\w+)", "', source)) | set(kernels.FAST_MACROS.values())
    assert len(macros) > 20
    assert macros - defined == set(), f"steps.c.j2 lacks {macros - defined}"
