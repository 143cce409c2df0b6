"""What a firmware prints, read back: one `RunResult` whatever ran it.

Two protocols, both line based:
- semihosting (the emulator and bench harnesses): `TINYC-BEGIN`, then `OUT <hex>` per sample, `TRACE <op> <hex>`
  per op in traced builds, `STACK <bytes>`, `ERROR <op>`, `TINYC-END`; the bench harness adds `CALIBRATE` and
  `BENCH` lines;
- framed (the real-board harness on a USART, see `tinyc.codegen.board`): `TINYC-FRAME-BEGIN samples=<n>
  output_bytes=<n>`, `OUT <sample> <hex>`, `TRACE <op> <hex>` continued on `TRACE+ <hex>` lines, `STACK`,
  `CHECKSUM <crc32>`, `TINYC-FRAME-DONE` (or `ERROR <op>` and `TINYC-FRAME-FAIL`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tinyc.codegen.board import FRAME
from tinyc.errors import EmulatorError


@dataclass(frozen=True)
class RunResult:
    emulator: str
    outputs: tuple[np.ndarray, ...]  # one int8 array per sample
    traces: tuple[tuple[int, np.ndarray], ...]  # (op index, output bytes), TINYC_TRACE builds only
    stack_used_bytes: int
    exit_code: int


def output_checksum(outputs: list[np.ndarray] | tuple[np.ndarray, ...]) -> int:
    """CRC-32 (zlib) of all output bytes in sample order: what the firmware prints after CHECKSUM."""
    crc = 0
    for output in outputs:
        crc = zlib.crc32(np.asarray(output, dtype=np.int8).tobytes(), crc)
    return crc


def _hex(text: str, where: str, emulator: str) -> np.ndarray:
    try:
        return np.frombuffer(bytes.fromhex(text), dtype=np.int8).copy()
    except ValueError:
        raise EmulatorError(f"{emulator}: {where} is not hex bytes: {text[:80]!r}") from None


def _trace(rest: str, emulator: str) -> tuple[int, np.ndarray]:
    """`TRACE <op> <hex>` (both protocols): an op's output in a traced build."""
    index, _, data = rest.partition(" ")
    return int(index), _hex(data, f"trace of op {index}", emulator)


def _kernel_error(rest: str, emulator: str) -> EmulatorError:
    """`ERROR <op>` (both protocols): a kernel returned an error status."""
    return EmulatorError(f"{emulator}: the kernel of op {rest.split()[0]} returned an error status")


def parse_framed_output(text: str, emulator: str) -> RunResult:
    """Read the framed UART protocol into the same `RunResult` as a QEMU run; check counts and the checksum."""
    lines = [line.rstrip("\r") for line in text.splitlines()]
    begins = [i for i, line in enumerate(lines) if line.startswith(FRAME.begin)]
    if not begins:
        raise EmulatorError(f"{emulator}: the firmware sent no {FRAME.begin} on the UART; "
                            f"UART output: {text[-300:]!r}")
    frame = lines[begins[-1]:]  # a reset re-sends the frame: the last one counts
    header = dict(field.partition("=")[::2] for field in frame[0].split()[1:])
    try:
        count, output_bytes = int(header["samples"]), int(header["output_bytes"])
    except (KeyError, ValueError):
        raise EmulatorError(f"{emulator}: malformed frame header {frame[0]!r}; expected "
                            f"'{FRAME.begin} samples=<n> output_bytes=<n>'") from None
    outputs: list[np.ndarray] = []
    trace_lines: list[tuple[str, list[str]]] = []  # op index, its hex over one TRACE and its TRACE+ lines
    stack = -1
    checksum: int | None = None
    for line in frame[1:]:
        tag, _, rest = line.partition(" ")
        if tag == "OUT":
            index, _, data = rest.partition(" ")
            if int(index) != len(outputs):
                raise EmulatorError(f"{emulator}: output of sample {index} arrived after {len(outputs)} outputs "
                                    "(UART lost or repeated a line)")
            outputs.append(_hex(data, f"output of sample {index}", emulator))
        elif tag == "TRACE":
            index, _, data = rest.partition(" ")
            trace_lines.append((index, [data]))
        elif tag == FRAME.trace_more:
            if not trace_lines:
                raise EmulatorError(f"{emulator}: a {FRAME.trace_more} line before any TRACE line")
            trace_lines[-1][1].append(rest)
        elif tag == "STACK":
            stack = int(rest.split()[0])
        elif tag == "CHECKSUM":
            checksum = int(rest.strip(), 16)
        elif tag == "ERROR":
            raise _kernel_error(rest, emulator)
        elif line == FRAME.done:
            break
    else:
        raise EmulatorError(f"{emulator}: the frame has no {FRAME.done} (the firmware hung, faulted or was stopped "
                            f"early); last UART output: {text[-300:]!r}")
    short = [i for i, o in enumerate(outputs) if o.size != output_bytes]
    if len(outputs) != count or short:
        raise EmulatorError(f"{emulator}: the frame announced {count} samples of {output_bytes} bytes but carried "
                            f"{len(outputs)} outputs" + (f", sample {short[0]} with {outputs[short[0]].size} bytes"
                                                         if short else ""))
    if checksum is None:
        raise EmulatorError(f"{emulator}: the frame has no CHECKSUM line")
    received = output_checksum(outputs)
    if received != checksum:
        raise EmulatorError(f"{emulator}: the UART bytes do not match the firmware's checksum: firmware "
                            f"{checksum:08x}, received {received:08x} (corrupted transfer)")
    traces = [_trace(f"{index} {''.join(data)}", emulator) for index, data in trace_lines]
    return RunResult(emulator=emulator, outputs=tuple(outputs), traces=tuple(traces), stack_used_bytes=stack,
                     exit_code=0)


def parse_semihosting(text: str, emulator: str, exit_code: int) -> RunResult:
    """The emulator harness's output (QEMU semihosting) into a `RunResult`."""
    outputs: list[np.ndarray] = []
    traces: list[tuple[int, np.ndarray]] = []
    stack = -1
    lines = text.splitlines()
    if "TINYC-BEGIN" not in lines:
        raise EmulatorError(f"{emulator}: the firmware printed no TINYC-BEGIN (exit code {exit_code}); "
                            f"output: {text[-500:]!r}")
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "OUT":
            _, _, data = rest.partition(" ")
            outputs.append(_hex(data, f"output {len(outputs)}", emulator))
        elif tag == "TRACE":
            traces.append(_trace(rest, emulator))
        elif tag == "STACK":
            stack = int(rest.split()[0])
        elif tag == "ERROR":
            raise _kernel_error(rest, emulator)
    if "TINYC-END" not in lines or exit_code != 0:
        raise EmulatorError(f"{emulator}: the firmware did not finish (exit code {exit_code}); last output: {text[-300:]!r}")
    return RunResult(emulator=emulator, outputs=tuple(outputs), traces=tuple(traces), stack_used_bytes=stack,
                     exit_code=exit_code)


@dataclass(frozen=True)
class BenchCounts:
    """The bench harness's counts: SysTick ticks of every inference and of each of its schedule steps."""
    instructions_per_tick: Fraction  # an integer on the mps2 machines (25, 20 MHz); 125/4 on the mps3-an547 (32 MHz)
    runs: tuple[tuple[int, ...], ...]  # per inference: total ticks, then ticks per step
    output: np.ndarray


def parse_bench(text: str, emulator: str, exit_code: int) -> BenchCounts:
    result = parse_semihosting(text, emulator, exit_code)
    per_tick = Fraction(0)
    runs: list[tuple[int, ...]] = []
    for line in text.splitlines():
        tag, _, rest = line.partition(" ")
        if tag == "CALIBRATE":
            instructions, ticks = (int(v) for v in rest.split())
            # the calibration's 2,000,000 instructions give the ratio to well within 1/16
            per_tick = Fraction(instructions, ticks).limit_denominator(16)
        elif tag == "BENCH":
            runs.append(tuple(int(v) for v in rest.split()[1:]))
    if per_tick <= 0 or not runs or len(result.outputs) != 1:
        raise EmulatorError(f"{emulator}: the bench firmware printed no calibration, counts or output; "
                            f"output: {text[-300:]!r}")
    return BenchCounts(instructions_per_tick=per_tick, runs=tuple(runs), output=result.outputs[0])
