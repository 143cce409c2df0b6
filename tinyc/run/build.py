"""Build: write the rendered project to a folder (never over a user's files, see `output_folder`) and run make → ELF."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import ToolchainError
from tinyc.plan.report import ElfSizes
from tinyc.run.output_folder import write_manifest

INSTALL_HINT = "apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi make"


@dataclass(frozen=True)
class BuildResult:
    folder: Path
    elf: Path
    sizes: ElfSizes
    make_args: tuple[str, ...] = ()  # what make was given: the same again rebuilds the same flavour (after an edit)


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


def make(folder: Path, make_args: tuple[str, ...] = ()) -> None:
    """Run the project's Makefile (its default goal, firmware.elf, unless `make_args` names a target)."""
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


def build(folder: Path, *, make_args: tuple[str, ...] = ()) -> BuildResult:
    make(folder, make_args)
    write_manifest(folder)  # the build products are tinyc's too: a later run may replace them, nothing else may
    return BuildResult(folder=folder, elf=folder / "firmware.elf", sizes=elf_sizes(folder / "firmware.map"),
                       make_args=make_args)
