"""Test your code offline: an in-process fake SignalWire space, a testing mode for retries, and pytest fixtures."""

from ._fake import FabricSpace, FakeSignalWire, RecordedRequest
from ._fast_retries import fast_retries

__all__ = ["FabricSpace", "FakeSignalWire", "RecordedRequest", "fast_retries"]
