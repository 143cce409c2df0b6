"""tinyc's version (the package's own; `tinyc --version` reads the installed distribution's)."""

__version__ = "0.1.0"
