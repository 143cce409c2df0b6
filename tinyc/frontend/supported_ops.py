"""SUPPORTED_OPS.md: the int8 rules of the IR (tinyc/ir/support.py), then the ONNX op types the ONNX front end takes
(tinyc/frontend/onnx_model.py). `python -m tinyc.frontend.supported_ops > SUPPORTED_OPS.md`."""

from __future__ import annotations

from tinyc.frontend.onnx_model import ONNX_OPS, QUANTIZED_OPS
from tinyc.ir.support import supported_ops_markdown


def supported_ops_document() -> str:
    return supported_ops_markdown() + "\n" + "\n".join(onnx_ops_markdown())


def onnx_ops_markdown() -> list[str]:
    """The ONNX op types the ONNX front end takes (tinyc/frontend/onnx_model.py) and what each becomes."""
    lines = ["## ONNX models", "",
             "A float `.onnx` file goes through onnx2tf to a TensorFlow model (NCHW tensors become NHWC: the report "
             "and `model.h` say how the input and output map), then through the same int8 conversion as a Keras "
             "model (`--calibration` in the ONNX model's own layout). Its nodes are checked first: a node of another "
             "type is refused before converting, naming it; what the nodes become is then held to the rules above, "
             "and an op that breaks one is named with the ONNX nodes it can come from.", "",
             "| ONNX op | becomes (TFLite) | note | bit-exact in tests/test_onnx.py |", "| --- | --- | --- | --- |"]
    for name, op in ONNX_OPS.items():
        lines.append(f"| {name} | {', '.join(op.becomes) or '(nothing: folded or constant)'} | {op.note} | "
                     f"{'yes' if op.verified else 'not yet'} |")
    lines += ["", f"- Already quantized graphs ({', '.join(QUANTIZED_OPS)}) are refused: onnx2tf turns "
              "QuantizeLinear/DequantizeLinear into float arithmetic, so the file's scales would not survive; give "
              "the float model with `--calibration`.", ""]
    return lines


if __name__ == "__main__":
    print(supported_ops_document(), end="")
