"""The one Jinja2 environment of tinyc: templates in `firmware_templates/<family>/` own all C (and script) text.

Families: `common/` (model, weights, Makefile: every firmware), `emulator/` (QEMU startup, linker script,
semihosting harness), `board/` (the part's startup, linker script, USART driver, framed harness), `bench/`
(instruction-counting harness), `renode/` (Renode script and test suite). Templates only loop and emit;
Python computes every number and name they print.
"""

from __future__ import annotations

import functools

import jinja2
import numpy as np

from tinyc.resources import templates_dir


def c_values(values: np.ndarray, per_line: int = 24) -> str:
    flat = np.asarray(values).reshape(-1).tolist()
    rows = (", ".join(str(v) for v in flat[i:i + per_line]) for i in range(0, len(flat), per_line))
    return ",\n".join(f"    {row}" for row in rows)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=False, autoescape=False)
    env.filters["c_values"] = c_values
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
