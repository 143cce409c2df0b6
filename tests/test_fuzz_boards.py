"""Mutated board files (hostile values, deleted keys, wrong types, text edits) load as a Board whose every string
matches its allow-list and every number its range, or give a clean BoardError: never another exception. Seeded
and bounded for CI; scripts/fuzz_boards.py runs longer."""

from __future__ import annotations

import random
import time

from tinyc.boards import known_boards
from tinyc.run.board_fuzzing import BoardMutant, fuzz_boards, mutate, run_case, unsafe_fields

CI_CASES = 1500
CI_SEED = 20261127
CI_BUDGET_S = 10


def test_bundled_boards_are_safe() -> None:
    for board in known_boards().values():
        assert unsafe_fields(board) == [], board.name


def test_fuzz_board_mutants_load_safely_or_fail_cleanly() -> None:
    started = time.monotonic()
    summary = fuzz_boards(CI_CASES, CI_SEED)
    elapsed = time.monotonic() - started
    report = "\n\n".join(f"{o.result} on {o.mutant.source}, {o.mutant.mutation}:\n{o.message}" for o in summary.bad)
    assert not summary.bad, f"{len(summary.bad)} of {CI_CASES} mutants crashed or loaded unsafe values:\n{report}"
    kinds = {kind for kind, _ in summary.counts()}
    assert kinds == {"value", "delete", "type", "text"}
    assert {o.result for o in summary.outcomes} == {"loaded", "BoardError"}  # the mutations reach both sides
    assert elapsed < CI_BUDGET_S


def test_mutants_are_reproducible_from_the_seed() -> None:
    from tinyc.resources import boards_dir
    text = (boards_dir() / "stm32f412.toml").read_text()
    first = [mutate(text, "stm32f412.toml", random.Random(5)) for _ in range(3)]
    assert first == [mutate(text, "stm32f412.toml", random.Random(5)) for _ in range(3)]


def test_the_oracle_catches_an_unsafe_board(tmp_path) -> None:
    """The property is not vacuous: a loader that let a hostile flag through would be reported UNSAFE."""
    import dataclasses
    board = known_boards()["stm32f412"]
    assert unsafe_fields(dataclasses.replace(board, cflags=("-mcpu=cortex-m4", "$(shell touch pwned)"))) == \
        ["cflags '$(shell touch pwned)' = '$(shell touch pwned)'"]
    outcome = run_case(BoardMutant("stm32f412.toml", "text: huge", "x = 1" + "0" * 5000), tmp_path)
    assert outcome.result == "BoardError" and outcome.message.startswith("board file stm32f412.toml is not valid TOML")
