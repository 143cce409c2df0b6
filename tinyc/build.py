"""Build: write the rendered project to a folder (never over a user's files) and run make → ELF."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import OutputDirError, ToolchainError

MANIFEST = ".tinyc-manifest"
BUILD_PRODUCTS = ("obj", "firmware.elf", "firmware.map", "board")  # board/: the real-board project, own manifest
INSTALL_HINT = "apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi make"


@dataclass(frozen=True)
class ElfSizes:
    """Section sizes of the linked firmware, from the linker map."""
    text_bytes: int  # code + read-only data incl. weights (flash)
    data_bytes: int  # initialised data (flash and SRAM)
    bss_bytes: int  # zeroed data incl. the arena (SRAM)
    stack_bytes: int  # the reserved stack (SRAM)

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes

    @property
    def sram_bytes(self) -> int:
        return self.data_bytes + self.bss_bytes + self.stack_bytes


@dataclass(frozen=True)
class BuildResult:
    folder: Path
    elf: Path
    sizes: ElfSizes


def write_project(files: dict[str, str], folder: Path) -> None:
    """Write files into `folder`; refuse if it holds anything tinyc did not write there."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    ours = set(manifest.read_text().split()) if manifest.is_file() else set()
    foreign = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                     if p.is_file() and p.name != MANIFEST
                     and p.relative_to(folder).as_posix() not in ours
                     and p.relative_to(folder).parts[0] not in BUILD_PRODUCTS)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise OutputDirError(f"output folder {folder} holds files tinyc did not write ({shown}); "
                             "choose an empty or new folder")
    for stale in ours - set(files):
        (folder / stale).unlink(missing_ok=True)
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
    manifest.write_text("\n".join(sorted(files)) + "\n")


def require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(f"{name} not found on PATH; install it with: {hint}")
    return path


def _section_size(map_text: str, section: str) -> int:
    match = re.search(rf"^\{section}\s+0x[0-9a-f]+\s+0x([0-9a-f]+)", map_text, re.MULTILINE)
    return int(match.group(1), 16) if match else 0


def elf_sizes(map_file: Path) -> ElfSizes:
    text = map_file.read_text()
    return ElfSizes(text_bytes=sum(_section_size(text, s) for s in (".isr_vector", ".text", ".ARM.exidx")),
                    data_bytes=_section_size(text, ".data"), bss_bytes=_section_size(text, ".bss"),
                    stack_bytes=_section_size(text, ".stack"))


def build(folder: Path, *, make_args: tuple[str, ...] = ()) -> BuildResult:
    require_tool("arm-none-eabi-gcc", INSTALL_HINT)
    require_tool("make", "apt-get install -y make")
    proc = subprocess.run(["make", "-s", "-j2", "-C", str(folder), *make_args], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        overflow = re.search(r"region `(\w+)' overflowed by (\d+) bytes", proc.stderr)
        if overflow:
            raise ToolchainError(f"the firmware does not fit: the linker says {overflow.group(1)} overflowed by "
                                 f"{overflow.group(2)} bytes (tinyc's plan should have caught this; please report it)")
        raise ToolchainError(f"building the firmware in {folder} failed:\n{tail}")
    return BuildResult(folder=folder, elf=folder / "firmware.elf", sizes=elf_sizes(folder / "firmware.map"))
