"""Test your code offline: an in-process fake SignalWire space, and pytest fixtures (see ``pytest_plugin``)."""

from ._fake import FakeSignalWire, RecordedRequest

__all__ = ["FakeSignalWire", "RecordedRequest"]
