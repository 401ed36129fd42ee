"""The ``signalwire-tokens`` command line (installed with the ``cli`` extra for its progress bar)."""

from ._main import main

__all__ = ["main"]
