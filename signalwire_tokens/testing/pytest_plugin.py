"""pytest fixtures for testing code that uses signalwire-tokens, offline.

Registered automatically (a ``pytest11`` entry point) when the package is installed:

- ``signalwire_fake``: a started :class:`FakeSignalWire`, closed after the test;
- ``signalwire_client``: a :class:`SignalWireClient` bound to it, closed after the test;
- ``signalwire_conference``: the id of a video conference holding two conference tokens in ``signalwire_fake``
  (for ``client.video.conference_tokens``; ``signalwire_fake.add_conference`` makes others);
- ``signalwire_fast_retries``: :func:`fast_retries` for the test: every client skips retry waits.

The first three need pytest-asyncio (``signalwire_fake`` and ``signalwire_client`` are async fixtures, and
``signalwire_conference`` uses the first); without it they are simply not defined.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from .._client import SignalWireClient
from ._fake import FakeSignalWire
from ._fast_retries import fast_retries


@pytest.fixture
def signalwire_fast_retries() -> Iterator[None]:
    """:func:`fast_retries` for the test: every client skips its retry waits."""
    with fast_retries():
        yield


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixtures need pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def signalwire_fake() -> AsyncIterator[FakeSignalWire]:
        """A started :class:`FakeSignalWire` on loopback, closed after the test."""
        async with FakeSignalWire() as fake:
            yield fake

    @pytest_asyncio.fixture
    async def signalwire_client(signalwire_fake: FakeSignalWire) -> AsyncIterator[SignalWireClient]:
        """A :class:`SignalWireClient` bound to ``signalwire_fake``, closed after the test."""
        async with signalwire_fake.client() as client:
            yield client

    @pytest.fixture
    def signalwire_conference(signalwire_fake: FakeSignalWire) -> str:
        """The id of a video conference with two conference tokens in ``signalwire_fake``."""
        return signalwire_fake.add_conference(tokens=2)
