"""The output folder: tinyc writes and deletes only files it wrote there itself, and never leaves half a project.

Every folder tinyc writes holds a manifest (`.tinyc-manifest`, JSON) naming each file it wrote with its SHA-256.
Before writing or deleting anything in a folder that exists, every entry in it is checked: a regular file (not a
symlink, a device or a fifo) inside the folder, listed in the manifest, with the recorded hash. Anything else (a
user's file, a changed file, a symlink, a manifest naming a path outside the folder) is refused, naming the path,
and nothing is touched.

`staged_output` builds a whole project in a hidden sibling folder and swaps it in only when every step
succeeded: a failure part-way leaves the previous folder as it was, and of two runs into one folder the last one
wins whole (the swap holds an exclusive lock on the parent folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from tinyc.errors import OutputDirError

MANIFEST = ".tinyc-manifest"
MANIFEST_FORMAT = 2
STAGING_PREFIX = ".tinyc-staging-"
TRASH_PREFIX = ".tinyc-replaced-"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _relative(folder: Path, name: str) -> PurePosixPath:
    """A manifest entry as a path inside `folder`; refused when it is absolute or climbs out."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or not rel.parts or any(part in ("..", "") for part in rel.parts):
        raise OutputDirError(f"{folder / MANIFEST} names {name!r}, a path outside the folder; tinyc writes and "
                             "deletes only inside its output folder (remove the manifest or choose a new folder)")
    return rel


def read_manifest(folder: Path) -> dict[str, str]:
    """The files tinyc wrote in `folder` and their SHA-256 (empty when the folder has no manifest)."""
    path = folder / MANIFEST
    if not path.exists() and not path.is_symlink():
        return {}
    if path.is_symlink() or not path.is_file():
        raise OutputDirError(f"{path} is not a regular file; choose an empty or new output folder")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise OutputDirError(f"{path} is not a manifest tinyc wrote (older tinyc versions kept no hashes); "
                             "remove the folder or choose a new one") from None
    files = data.get("files") if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise OutputDirError(f"{path} is not a manifest tinyc wrote; remove the folder or choose a new one")
    for name in files:
        _relative(folder, name)
    return dict(files)


def _write_manifest_of(folder: Path, files: dict[str, str]) -> None:
    (folder / MANIFEST).write_text(json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=1,
                                              sort_keys=True) + "\n")


def write_manifest(folder: Path) -> None:
    """Record every regular file under `folder` (its own manifest excepted) with its hash."""
    files = {p.relative_to(folder).as_posix(): file_digest(p) for p in sorted(folder.rglob("*"))
             if p.is_file() and not p.is_symlink() and p.relative_to(folder).as_posix() != MANIFEST}
    _write_manifest_of(folder, files)


def record_files(folder: Path, paths: list[Path]) -> None:
    """Add files tinyc just wrote in `folder` (e.g. an emulator's logs under obj/) to its manifest."""
    files = read_manifest(folder)
    files.update({p.relative_to(folder).as_posix(): file_digest(p) for p in paths if p.is_file()})
    _write_manifest_of(folder, files)


def add_files(files: dict[str, str], folder: Path) -> None:
    """Write new files into `folder`, a folder tinyc owns (a stage), and add them to its manifest; a path that is
    already there or that would leave the folder is refused."""
    written = []
    for rel, text in files.items():
        path = folder / _relative(folder, rel)
        if path.exists() or path.is_symlink():
            raise OutputDirError(f"{path} exists already; tinyc does not write one file twice in a project")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    record_files(folder, written)


def check_ours(folder: Path) -> dict[str, str]:
    """Refuse, naming the path, unless `folder` is missing, empty, or holds only files tinyc wrote and left as
    they were. Returns the manifest."""
    if folder.is_symlink():
        raise OutputDirError(f"output folder {folder} is a symbolic link; tinyc writes only into a real folder")
    if not folder.exists():
        return {}
    if not folder.is_dir():
        raise OutputDirError(f"output folder {folder} is a file, not a folder; choose another -o")
    ours = read_manifest(folder)
    foreign: list[str] = []
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            path = Path(root) / name
            rel = path.relative_to(folder).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise OutputDirError(f"output folder {folder} holds a symbolic link ({rel}); tinyc does not write "
                                     "through links (remove it or choose a new folder)")
            if stat.S_ISDIR(mode) or rel == MANIFEST:
                continue
            if not stat.S_ISREG(mode) or rel not in ours:
                foreign.append(rel)
            elif file_digest(path) != ours[rel]:
                raise OutputDirError(f"output folder {folder}: {rel} was changed since tinyc wrote it; tinyc does "
                                     "not replace a file it did not write (move it away or choose a new folder)")
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise OutputDirError(f"output folder {folder} holds files tinyc did not write ({shown}); "
                             "choose an empty or new folder")
    return ours


def _make_parent(folder: Path) -> Path:
    parent = folder.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputDirError(f"cannot create output folder {folder}: a part of its path is a file") from None
    except OSError as exc:
        raise OutputDirError(f"cannot create output folder {folder}: {exc.strerror}") from None
    return parent


def write_files(files: dict[str, str], folder: Path) -> None:
    """Write `files` into `folder` (new, empty, or tinyc's own), delete the files of tinyc's earlier project that
    are no longer part of it, and record the manifest."""
    ours = check_ours(folder)
    _make_parent(folder)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputDirError(f"cannot create output folder {folder}: {exc.strerror}") from None
    for rel in sorted(set(ours) - set(files)):
        (folder / _relative(folder, rel)).unlink(missing_ok=True)  # checked above: a file tinyc wrote, unchanged
    for rel, text in files.items():
        path = folder / _relative(folder, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    write_manifest(folder)


def refuse_current_folder(folder: Path) -> None:
    """tinyc replaces its output folder whole (a rename): the current folder, or a folder holding it, cannot be."""
    target, here = Path(os.path.abspath(folder)), Path.cwd()
    if target == here or target in here.parents:
        what = "the current folder" if target == here else f"a folder holding the current folder ({here})"
        raise OutputDirError(f"output folder {folder} is {what}; tinyc replaces its output folder whole, so give a "
                             "folder of its own, such as -o build")


def _pid_gone(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: a process of another user has that pid now
        return False
    return False


def _marked_ours(folder: Path) -> bool:
    """An empty folder, or one whose manifest (`folder/.tinyc-manifest`, or `folder/old/...` in a trash folder)
    is one tinyc wrote."""
    try:
        entries = list(folder.iterdir())
        inner = folder / "old" if [e.name for e in entries] == ["old"] else folder
        return not entries or bool(read_manifest(inner)) or (inner / MANIFEST).is_file()
    except (OSError, OutputDirError):
        return False


def remove_stale_stages(folder: Path) -> list[Path]:
    """Remove the staging and trash folders of `folder` that a killed tinyc left in its parent (SIGKILL skips the
    clean-up). Only a real folder of this user, named with tinyc's prefix and the pid of a process that is gone,
    and empty or holding tinyc's manifest."""
    parent = folder.absolute().parent
    removed: list[Path] = []
    try:
        candidates = sorted(parent.iterdir())
    except OSError:
        return removed
    for path in candidates:
        rest = next((path.name[len(p):] for p in (f"{STAGING_PREFIX}{folder.name}-", f"{TRASH_PREFIX}{folder.name}-")
                     if path.name.startswith(p)), None)
        pid_text = rest.split("-", 1)[0] if rest is not None and "-" in rest else ""
        if not pid_text.isdigit():
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and _pid_gone(int(pid_text)) \
                and _marked_ours(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def check_output_folder(folder: Path) -> None:
    """Before any slow step: refuse an output folder tinyc may not write (see `check_ours`), or whose parent
    cannot be created or written."""
    refuse_current_folder(folder)
    check_ours(folder)
    os.rmdir(_make_stage(folder))  # the one real test of writability (root passes every access check)


def _make_stage(folder: Path) -> Path:
    parent = _make_parent(folder)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{folder.name}-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise OutputDirError(f"cannot write output folder {folder}: its parent folder {parent} is not writable "
                             f"({exc.strerror})") from None
    umask = os.umask(0o022)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # as a plain mkdir would make it, not mkdtemp's private 0700
    return stage


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def staged_output(folder: Path) -> Iterator[Path]:
    """Yield a fresh staging folder beside `folder`; when the block succeeds, record its manifest and swap it in
    place of `folder` (checked again to hold only tinyc's unchanged files); when it fails, remove it."""
    refuse_current_folder(folder)
    check_ours(folder)  # refuse early, before a long build
    remove_stale_stages(folder)
    stage = _make_stage(folder)
    parent = stage.parent
    try:
        yield stage
        write_manifest(stage)
        with _locked(parent):
            check_ours(folder)
            trash = None
            if folder.exists():
                trash = Path(tempfile.mkdtemp(prefix=f"{TRASH_PREFIX}{folder.name}-{os.getpid()}-", dir=parent))
                try:
                    os.rename(folder, trash / "old")
                except OSError as exc:
                    shutil.rmtree(trash)
                    raise OutputDirError(f"cannot replace output folder {folder}: {exc.strerror}") from None
            os.rename(stage, folder)
        if trash is not None:
            shutil.rmtree(trash)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
