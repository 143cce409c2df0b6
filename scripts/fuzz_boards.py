"""Longer mutation fuzzing of board files (`--board-file`, untrusted data) than CI runs: prints a table of outcomes
per mutation kind and every crash or unsafe load with the mutation that caused it (reproducible with the same --seed
and --cases).

    python scripts/fuzz_boards.py --cases 100000 --seed 1
    python scripts/fuzz_boards.py --cases 2000 --files my_board.toml

Exit status 1 when any mutant crashed (an exception other than BoardError) or loaded a value off its allow-list.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tinyc.run.board_fuzzing import fuzz_boards  # noqa: E402
from tinyc.run.fuzzing import summary_table  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000, help="how many mutants (default 20000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mutations (default 0)")
    parser.add_argument("--files", type=Path, nargs="+", default=None,
                        help="valid board files to mutate (default: the bundled boards/*.toml)")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    started = time.monotonic()
    summary = fuzz_boards(args.cases, args.seed, args.files)
    elapsed = time.monotonic() - started
    counts = summary.counts()
    print(f"{args.cases} mutants, seed {args.seed}, {elapsed:.1f} s ({1000 * elapsed / args.cases:.1f} ms per case)\n")
    print("\n".join(summary_table(counts, args.cases, ("CRASH", "UNSAFE"))))
    for outcome in summary.bad:
        print(f"\n{outcome.result}: {outcome.mutant.source}, {outcome.mutant.mutation}\n{outcome.message}")
    return 1 if summary.bad else 0


if __name__ == "__main__":
    sys.exit(main())
