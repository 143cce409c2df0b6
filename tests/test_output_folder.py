"""The output folder: tinyc writes and deletes only files it wrote there itself, and never leaves half a project.

Every case asserts the exact refusal and that nothing outside the output folder (and nothing of the user's inside
it) changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tinyc.errors import OutputDirError
from tinyc.run.output_folder import MANIFEST, check_ours, staged_output, write_files

PROJECT = {"model.c": "int x;\n", "model.h": "extern int x;\n", "sub/part.c": "int y;\n"}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` (links as their target text), to prove that nothing changed."""
    return {p.relative_to(root).as_posix(): (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()}


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "important.txt").write_text("precious")
    return folder


def test_new_folder_gets_files_and_hashed_manifest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    assert (out / "sub/part.c").read_text() == "int y;\n"
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["format"] == 2
    assert sorted(manifest["files"]) == ["model.c", "model.h", "sub/part.c"]
    assert check_ours(out) == manifest["files"]


def test_rewrite_deletes_only_its_own_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    write_files({"model.c": "int z;\n"}, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [MANIFEST, "model.c"]


@pytest.mark.parametrize("listed", ["../victim/important.txt", "ABSOLUTE"])
def test_manifest_naming_a_path_outside_is_refused(tmp_path: Path, victim: Path, listed: str) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    name = str(victim / "important.txt") if listed == "ABSOLUTE" else listed
    data = json.loads((out / MANIFEST).read_text())
    data["files"][name] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(data))
    before = snapshot(tmp_path)
    with pytest.raises(OutputDirError) as err:
        write_files({"model.c": "int z;\n"}, out)
    assert str(err.value) == (f"{out / MANIFEST} names {name!r}, a path outside the folder; tinyc writes and deletes "
                              "only inside its output folder (remove the manifest or choose a new folder)")
    assert snapshot(tmp_path) == before


def test_old_plain_text_manifest_is_refused(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("../victim/important.txt\n")
    before = snapshot(tmp_path)
    with pytest.raises(OutputDirError, match=r"is not a manifest tinyc wrote \(older tinyc versions kept no hashes\)"):
        write_files(PROJECT, out)
    assert snapshot(tmp_path) == before


def test_symlink_in_output_folder_is_refused(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    (out / "model.c").unlink()
    (out / "model.c").symlink_to(victim / "important.txt")
    before = snapshot(tmp_path)
    with pytest.raises(OutputDirError) as err:
        write_files(PROJECT, out)
    assert str(err.value) == (f"output folder {out} holds a symbolic link (model.c); tinyc does not write through "
                              "links (remove it or choose a new folder)")
    assert snapshot(tmp_path) == before
    assert (victim / "important.txt").read_text() == "precious"


def test_output_folder_that_is_a_symlink_is_refused(tmp_path: Path, victim: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(victim)
    with pytest.raises(OutputDirError, match="is a symbolic link; tinyc writes only into a real folder"):
        write_files(PROJECT, link)
    assert snapshot(victim) == {"important.txt": b"precious"}


@pytest.mark.parametrize("name", ["firmware.elf", "firmware.map", "obj/app/model.o", "board/firmware.elf", "notes.txt"])
def test_user_files_with_build_product_names_are_refused(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).write_text("the user's")
    before = snapshot(tmp_path)
    with pytest.raises(OutputDirError) as err:
        write_files(PROJECT, out)
    assert str(err.value) == (f"output folder {out} holds files tinyc did not write ({name}); "
                              "choose an empty or new folder")
    assert snapshot(tmp_path) == before


def test_file_changed_since_tinyc_wrote_it_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_files(PROJECT, out)
    (out / "model.h").write_text("/* the user's edit */\n")
    with pytest.raises(OutputDirError) as err:
        write_files(PROJECT, out)
    assert str(err.value) == (f"output folder {out}: model.h was changed since tinyc wrote it; tinyc does not "
                              "replace a file it did not write (move it away or choose a new folder)")
    assert (out / "model.h").read_text() == "/* the user's edit */\n"


def test_failure_part_way_leaves_the_previous_project_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_output(out) as stage:
        write_files(PROJECT, stage)
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError, match="make failed"):
        with staged_output(out) as stage:
            write_files({"model.c": "half\n"}, stage)
            raise RuntimeError("make failed")
    assert snapshot(tmp_path) == before  # and no staging folder left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_two_runs_into_one_folder_last_wins_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = staged_output(out)
    second = staged_output(out)
    stage_a = first.__enter__()
    stage_b = second.__enter__()
    write_files({"a.c": "a\n", "common.c": "from a\n"}, stage_a)
    write_files({"b.c": "b\n", "common.c": "from b\n"}, stage_b)
    second.__exit__(None, None, None)
    first.__exit__(None, None, None)
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "a.c", "common.c"]
    assert (out / "common.c").read_text() == "from a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_swap_refuses_a_user_file_added_during_the_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with staged_output(out) as stage:
        write_files(PROJECT, stage)
    with pytest.raises(OutputDirError, match=r"holds files tinyc did not write \(mine.txt\)"):
        with staged_output(out) as stage:
            write_files(PROJECT, stage)
            (out / "mine.txt").write_text("added meanwhile")
    assert (out / "mine.txt").read_text() == "added meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_output_path_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputDirError) as err:
        with staged_output(tmp_path / "afile" / "out"):
            pass
    assert str(err.value) == f"cannot create output folder {tmp_path / 'afile' / 'out'}: a part of its path is a file"
