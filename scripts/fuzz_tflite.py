"""Longer mutation fuzzing of the .tflite front end than CI runs: prints a table of outcomes per mutation kind
and every crash or hang with the mutation that caused it (reproducible with the same --seed and --cases).

    python scripts/fuzz_tflite.py --cases 20000 --seed 1
    python scripts/fuzz_tflite.py --cases 500 --seed 7 --files my.tflite --auto-every 1

Exit status 1 when any mutant crashed (an exception other than TinycError) or hung.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tinyc.run.fuzzing import fuzz, summary_table  # noqa: E402

DEFAULT_FILES = [REPO / "tests" / "data" / "golden_tiny.tflite", *sorted((REPO / "tests" / "data" / "fuzz").glob("*.tflite"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="how many mutants (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--auto-every", type=int, default=5,
                        help="plan every N-th case with the full schedule search, the rest per layer (default 5)")
    parser.add_argument("--files", type=Path, nargs="+", default=DEFAULT_FILES, help="valid int8 .tflite files to mutate")
    args = parser.parse_args()
    if args.cases < 1 or args.auto_every < 1 or args.timeout <= 0:
        parser.error("--cases and --auto-every must be at least 1, --timeout positive")
    started = time.monotonic()
    summary = fuzz(args.files, args.cases, args.seed, timeout_s=args.timeout, auto_every=args.auto_every)
    elapsed = time.monotonic() - started
    counts = summary.counts()
    print(f"{args.cases} mutants of {len(args.files)} files, seed {args.seed}, {elapsed:.1f} s "
          f"({1000 * elapsed / args.cases:.1f} ms per case)\n")
    print("\n".join(summary_table(counts, args.cases, ("CRASH", "HANG"))))
    for outcome in summary.bad:
        print(f"\n{outcome.result}: {outcome.mutant.source}, {outcome.mutant.mutation}\n{outcome.message}")
    return 1 if summary.bad else 0


if __name__ == "__main__":
    sys.exit(main())
