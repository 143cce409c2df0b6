"""Progress lines for the steps a user waits on: load, convert, plan, render, build, emulate, reference.

The library reports each step through `step(Step.X, detail)`; what is shown is the CLI's choice (`set_reporter`):
nothing (the default, for library users and tests), a Rich spinner with a line per finished step on a terminal, or
plain lines for CI logs. Only steps that take longer than `SHOW_AFTER_SECONDS` print anything; `--quiet` silences
all of them. Progress goes to stderr, so `--json` output on stdout stays clean.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.status import Status

SHOW_AFTER_SECONDS = 1.0  # a step that ends sooner prints nothing


class Step(enum.Enum):
    LOAD = "load"  # running a .py model file (its imports: TensorFlow, typically)
    CONVERT = "convert"  # Keras model -> int8 TFLite (TensorFlow), when the conversion cache misses
    PLAN = "plan"  # lowering, schedule search, memory placement
    RENDER = "render"  # C sources from the templates
    BUILD = "build"  # arm-none-eabi-gcc through make
    EMULATE = "emulate"  # QEMU or Renode runs the firmware
    REFERENCE = "reference"  # TFLite Micro's interpreter (and LiteRT's second opinion) on the same inputs


class Reporter(Protocol):
    def started(self, step: Step, detail: str) -> object:
        """Called when `step` starts; returns a token handed back to `finished`."""

    def finished(self, token: object, seconds: float) -> None: ...


class Silent:
    def started(self, step: Step, detail: str) -> object:
        return None

    def finished(self, token: object, seconds: float) -> None:
        return None


class _PlainStep:
    def __init__(self, reporter: PlainLines, label: str) -> None:
        self.label = label
        self.shown = False
        self.lock = threading.Lock()
        self.timer = threading.Timer(SHOW_AFTER_SECONDS, self.show, args=(reporter,))
        self.timer.daemon = True

    def show(self, reporter: PlainLines) -> None:
        with self.lock:
            if not self.shown:
                self.shown = True
                reporter.line(f"{self.label} ...")


class PlainLines:
    """For logs: `STEP: DETAIL ...` once the step has run for SHOW_AFTER_SECONDS, then `STEP: DETAIL done in N s`."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        self.stream.write(f"tinyc: {text}\n")
        self.stream.flush()

    def started(self, step: Step, detail: str) -> object:
        token = _PlainStep(self, f"{step.value}: {detail}")
        if SHOW_AFTER_SECONDS <= 0:
            token.show(self)
        else:
            token.timer.start()
        return token

    def finished(self, token: object, seconds: float) -> None:
        assert isinstance(token, _PlainStep)
        token.timer.cancel()
        with token.lock:
            if seconds >= SHOW_AFTER_SECONDS:
                if not token.shown:
                    self.line(f"{token.label} ...")
                token.shown = True
                self.line(f"{token.label} done in {seconds:.1f} s")


class RichSpinner:
    """On a terminal: a spinner naming the running step (nested steps replace its text), and a line per finished
    step that took longer than SHOW_AFTER_SECONDS."""

    def __init__(self, console: object) -> None:
        from rich.console import Console
        assert isinstance(console, Console)
        self.console = console
        self.labels: list[str] = []
        self.status: Status | None = None

    def started(self, step: Step, detail: str) -> object:
        from rich.markup import escape
        label = f"{step.value}: {escape(detail)}"
        self.labels.append(label)
        if self.status is None:
            self.status = self.console.status(label)
            self.status.start()
        else:
            self.status.update(label)
        return label

    def finished(self, token: object, seconds: float) -> None:
        self.labels.remove(str(token))
        if self.status is not None:
            if self.labels:
                self.status.update(self.labels[-1])
            else:
                self.status.stop()
                self.status = None
        if seconds >= SHOW_AFTER_SECONDS:
            self.console.print(f"[green]✓[/green] {token} [dim]({seconds:.1f} s)[/dim]")


_reporter: Reporter = Silent()


def set_reporter(reporter: Reporter) -> Reporter:
    """Install `reporter`; returns the previous one."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


@contextmanager
def step(kind: Step, detail: str) -> Iterator[None]:
    """Report one step to the installed reporter (nothing by default)."""
    reporter = _reporter
    token = reporter.started(kind, detail)
    started = time.monotonic()
    try:
        yield
    finally:
        reporter.finished(token, time.monotonic() - started)
