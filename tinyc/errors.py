"""The one error hierarchy of tinyc.

The CLI catches only `TinycError` and prints its message on one line; anything else is a bug and
keeps its traceback. Every message names what is wrong, where, and what would help.
"""


class TinycError(Exception):
    """A problem with the user's input or environment that tinyc explains."""


class ModelLoadError(TinycError):
    """The model file cannot be read, built or converted."""


class ModelFormatError(ModelLoadError):
    """A .tflite file that is truncated, malformed or inconsistent (indices, buffer sizes, shapes, quantization)."""


class UnsupportedModelError(TinycError):
    """The model uses an op, type or shape that tinyc does not lower."""


class BoardError(TinycError):
    """Unknown board or an invalid board file."""


class DoesNotFitError(TinycError):
    """The planned firmware exceeds a memory of the board."""


class ToolchainError(TinycError):
    """A required external tool is missing or failed."""


class EmulatorError(TinycError):
    """The emulator failed, hung or printed something unexpected."""


class OutputDirError(TinycError):
    """The output folder holds files tinyc did not write."""


class PlanError(TinycError):
    """A memory plan failed its independent check (a tinyc bug, reported with byte ranges)."""


class MismatchError(TinycError):
    """Firmware output differs from the reference."""


class SearchError(TinycError):
    """A `tinyc search` that cannot run as given (the search file, its data, the output folder, Ray)."""
