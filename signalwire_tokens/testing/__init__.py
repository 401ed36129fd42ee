"""Test your code offline: an in-process fake SignalWire space, a testing mode for retries, and pytest fixtures."""

from ._fake import FakeSignalWire, RecordedRequest
from ._mode import testing_mode

__all__ = ["FakeSignalWire", "RecordedRequest", "testing_mode"]
