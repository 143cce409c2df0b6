"""The emulator regression: every zoo model x board in QEMU (and Renode where installed), byte for byte.

Run by docker/run-regression.sh inside the image (with --network none), or directly from a checkout:

    python3 docker/regression.py                                  # every models/*.py x both boards
    python3 docker/regression.py --models tiny_dscnn --samples 3

For each model and board: a model that does not fit the board is skipped with the planner's numbers; otherwise
`tinyc.run.verify.verify` builds the QEMU firmware and compares every output byte with TFLite Micro. With `renode` on
PATH, the real-board firmware is verified in Renode too and the generated `renode-test` suite is run; without it,
the Renode cases are skipped with the reason. Prints one line per case and exits 1 if any case failed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tinyc.boards import known_boards  # noqa: E402  (tinyc from this checkout, or as installed in the image)
BOARDS = tuple(known_boards())  # every board file in boards/


def zoo_models() -> list[str]:
    return sorted(p.stem for p in (REPO / "models").glob("*.py") if not p.stem.startswith("_"))


def run_per_model(models: list[str], boards: list[str], samples: int) -> int:
    """Each model in its own process; a process killed by a signal is reported as that model's failure."""
    failed: list[str] = []
    started = time.monotonic()
    print(f"regression: {len(models)} models x {len(boards)} boards, {samples} samples each", flush=True)
    for name in models:
        proc = subprocess.run([sys.executable, __file__, "--one-process", "--models", name, "--boards", *boards,
                               "--samples", str(samples)], stdout=subprocess.PIPE, text=True)
        sys.stdout.write("".join(line for line in proc.stdout.splitlines(keepends=True)
                                 if not line.startswith("regression:")))
        if proc.returncode < 0:
            print(f"FAIL crash  {name}: the process died with signal {-proc.returncode} "
                  f"({signal.Signals(-proc.returncode).name})", flush=True)
        if proc.returncode != 0:
            failed.append(name)
    print(f"regression: {'FAILED' if failed else 'passed'} ({len(failed)} models failing"
          f"{': ' + ', '.join(failed) if failed else ''}) in {time.monotonic() - started:.0f} s", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None, help="model names in models/ (default: all)")
    parser.add_argument("--boards", nargs="+", default=list(BOARDS))
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--one-process", action="store_true",
                        help="run all models in this process (default: one child process per model, so that a "
                             "crash in one model's reference interpreter fails that model, not the run)")
    args = parser.parse_args(argv)
    models = args.models or zoo_models()
    if len(models) > 1 and not args.one_process:
        return run_per_model(models, args.boards, args.samples)

    from tinyc.plan.pipeline import input_samples, plan_model
    from tinyc.run.verify import verify
    from tinyc.run.emulators import Emulator
    from tinyc.errors import TinycError
    from tinyc.run.oracle import OracleCrash
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.renode import board_without_renode, renode_missing_reason
    from tinyc.run.suite import run_suite

    renode_reason = renode_missing_reason()
    failures = unverified = 0
    started_all = time.monotonic()
    print(f"regression: {len(models)} models x {len(args.boards)} boards, {args.samples} samples each", flush=True)
    if renode_reason:
        print(f"SKIP renode (all cases): {renode_reason}", flush=True)
    for name in models:
        model = REPO / "models" / f"{name}.py"
        for board in args.boards:
            case = f"{name} on {board}"
            options = ScheduleOptions()
            try:
                planned = plan_model(model, board, options=options)
                if not planned.report.fits:  # patches without the input frame in SRAM may still fit
                    options = ScheduleOptions(stream_input=True)
                    planned = plan_model(model, board, options=options)
            except TinycError as exc:
                failures += 1
                print(f"FAIL plan   {case}: {exc}", flush=True)
                continue
            if not planned.report.fits:
                print(f"SKIP        {case}: does not fit: {planned.report.verdict()}", flush=True)
                continue
            no_renode = renode_reason or board_without_renode(planned.board)
            if no_renode and not renode_reason:
                print(f"SKIP renode {case}: {no_renode}", flush=True)
            emulators = [Emulator.QEMU] + ([] if no_renode else [Emulator.RENODE])
            for emulator in emulators:
                started = time.monotonic()
                try:
                    result = verify(model, board, samples=args.samples, emulator=emulator, options=options)
                except OracleCrash as exc:
                    # Not a pass: both reference interpreters aborted, so there is nothing to compare with.
                    unverified += 1
                    print(f"UNVERIFIED {emulator.value:6} {case}: {exc}", flush=True)
                    continue
                except TinycError as exc:
                    failures += 1
                    print(f"FAIL {emulator.value:6} {case}: {exc}", flush=True)
                    continue
                seconds = time.monotonic() - started
                if result.first_mismatch is not None:
                    failures += 1
                    print(f"FAIL {emulator.value:6} {case}: {result.first_mismatch.describe()}", flush=True)
                else:
                    print(f"PASS {emulator.value:6} {case}: {result.samples} samples bit-exact vs {result.reference}, "
                          f"stack {result.run.stack_used_bytes} B, {seconds:.1f} s", flush=True)
            if no_renode:
                continue
            with tempfile.TemporaryDirectory(prefix="tinyc-robot-") as tmp:
                try:
                    suite = run_suite(planned, board, input_samples(planned, args.samples), Path(tmp), options=options)
                except OracleCrash as crash:
                    unverified += 1
                    print(f"UNVERIFIED robot  {case}: {crash}", flush=True)
                    continue
                except TinycError as exc:
                    failures += 1
                    print(f"FAIL robot  {case}: {exc}", flush=True)
                    continue
                scope = (", up to the final SOFTMAX (both reference interpreters abort on it)" if suite.up_to_logits
                         else "")
                if suite.samples < args.samples:
                    scope += (f", {suite.samples} of {args.samples} samples: the part's flash holds no more beside "
                              "the model")
                if not suite.robot.passed:
                    failures += 1
                    tail = "\n".join(suite.robot.output.splitlines()[-10:])
                    print(f"FAIL robot  {case}: {suite.files.robot.name} failed{scope}:\n{tail}", flush=True)
                else:
                    print(f"PASS robot  {case}: {suite.files.robot.name} "
                          f"(checksum {suite.files.checksum:08x}{scope})", flush=True)
    print(f"regression: {'FAILED' if failures else 'passed'} ({failures} failures, {unverified} unverified: "
          f"reference interpreters crashed) in {time.monotonic() - started_all:.0f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
