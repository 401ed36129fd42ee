"""Video conference tokens: ``list`` follows ``links.next`` page by page (one page held, never to another origin),
``get`` reads one, ``reset`` gives one a new value and is not repeated blindly; every request and answer held
against SignalWire's OpenAPI."""

from __future__ import annotations

import itertools
import uuid

import pytest

from signalwire_tokens import (
    ConferenceToken,
    ConnectionLostError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
    SignalWireClient,
    UnexpectedResponseError,
)
from signalwire_tokens.testing import FakeSignalWire

from .conftest import TOKEN_ID, assert_request_matches_spec, assert_response_matches_spec
from .support import Answers, ThreadedFake, sync_client


async def test_list_follows_the_next_links_page_by_page(fake: FakeSignalWire) -> None:
    conference = fake.add_conference(tokens=7, scopes=["room.self.audio_mute", "room.self.video_mute"])
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        listed = [token async for token in client.video.conference_tokens.list(conference, page_size=3)]
    assert [t.name for t in listed] == [f"Token {n}" for n in range(1, 8)]
    assert all(isinstance(t, ConferenceToken) for t in listed)
    assert listed[0].scopes == ("room.self.audio_mute", "room.self.video_mute")
    assert {t.id: t.token for t in listed} == {i: t["token"] for i, t in fake.conference_tokens.items()}
    assert [r.operation for r in fake.requests] == ["video.conference_tokens.list"] * 3
    assert fake.requests[0].query == "page_size=3"
    assert "page_token=" in fake.requests[1].query and "page_number=1" in fake.requests[1].query
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert recorded.path == f"/api/video/conferences/{conference}/conference_tokens"
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_list_fetches_a_page_only_when_the_iteration_reaches_it(each_fake: FakeSignalWire) -> None:
    conference = each_fake.add_conference(tokens=5)
    async with each_fake.client() as client:
        pages = client.video.conference_tokens.list(conference, page_size=2)
        assert each_fake.requests == []
        first = [await pages.__anext__(), await pages.__anext__()]
        assert len(each_fake.requests) == 1
        third = await pages.__anext__()
        assert len(each_fake.requests) == 2
        rest = [token async for token in pages]
    assert [t.name for t in [*first, third, *rest]] == [f"Token {n}" for n in range(1, 6)]
    assert len(each_fake.requests) == 3


async def test_an_empty_conference_lists_nothing_in_one_request(client: SignalWireClient, fake: FakeSignalWire) -> None:
    conference = fake.add_conference(tokens=0)
    assert [t async for t in client.video.conference_tokens.list(conference)] == []
    assert fake.requests[0].query == "page_size=50"
    assert_request_matches_spec(fake.requests[0])


async def test_a_next_link_to_another_origin_is_refused_and_nothing_is_sent_there(fake: FakeSignalWire) -> None:
    elsewhere = "https://attacker.example.com/api/video/conferences/x/conference_tokens?page_number=1"
    token = {"id": TOKEN_ID, "name": None, "token": "vpt_0123456789abcdef", "scopes": []}
    fake.fail(200, body={"links": {"self": "s", "first": "f", "next": elsewhere}, "data": [token]})
    sent: list[str] = []

    async def watch(request: object, call_next: object) -> object:
        sent.append(str(getattr(request, "url", "")))
        return await call_next(request)  # type: ignore[operator]

    async with fake.client(middlewares=[watch]) as client:
        pages = client.video.conference_tokens.list(fake.add_conference(tokens=0))
        assert (await pages.__anext__()).name is None
        with pytest.raises(InvalidRequestError, match="another origin") as info:
            await pages.__anext__()
    assert "attacker" not in "".join(sent) and len(sent) == 1
    assert len(fake.requests) == 1
    assert info.value.field is None


def cyclic_pages(fake: FakeSignalWire, conference: str, cycle: list[int]) -> None:
    """Answer the listing's pages in ``cycle``'s order, each page's next link pointing to the following page number
    (0: the first page the client asks for), as an API that lost its place would."""

    def page(number: int) -> str:
        first = f"{fake.url}/api/video/conferences/{conference}/conference_tokens?page_size=50"
        return first if number == 0 else f"{first}&page_number={number}"

    for answered, following in itertools.pairwise(cycle):
        token = {"id": str(uuid.uuid4()), "name": f"page {answered}", "token": "vpt_0123456789abcdef", "scopes": []}
        links = {"self": page(answered), "first": page(0), "next": page(following)}
        fake.fail(200, body={"links": links, "data": [token]}, operation="video.conference_tokens.list")


# Each list: the pages answered, in order, then the page the last one's next link leads back to.
CYCLES = {"to itself": [0, 0], "A to B to A": [0, 1, 0], "A to B to C to B": [0, 1, 2, 1]}


@pytest.mark.parametrize("cycle", CYCLES.values(), ids=CYCLES.keys())
async def test_a_next_link_already_followed_ends_the_list_with_an_error(fake: FakeSignalWire, cycle: list[int]) -> None:
    conference = fake.add_conference(tokens=0)
    cyclic_pages(fake, conference, cycle)
    listed: list[str | None] = []

    async def read_all(client: SignalWireClient) -> None:
        async for token in client.video.conference_tokens.list(conference):
            listed.append(token.name)

    async with fake.client() as client:
        with pytest.raises(UnexpectedResponseError, match="already followed"):
            await read_all(client)
    assert listed == [f"page {n}" for n in cycle[:-1]], "every page read once, then the error"
    assert len(fake.requests) == len(cycle) - 1, "the page already read is not asked for again"


def test_the_sync_client_ends_a_cyclic_list_with_the_same_error(space: ThreadedFake) -> None:
    conference = space.call(space.fake.add_conference, tokens=0)
    space.call(cyclic_pages, space.fake, conference, CYCLES["A to B to A"])
    with sync_client(space) as client, pytest.raises(UnexpectedResponseError, match="already followed"):
        list(client.video.conference_tokens.list(conference))
    assert len(space.fake.requests) == 2


@pytest.mark.parametrize("body", [{"data": []}, {"links": {"self": "s", "first": "f", "next": 3}, "data": []}, []])
async def test_a_page_that_is_not_documented_is_an_unexpected_response(fake: FakeSignalWire, body: object) -> None:
    fake.fail(200, body={"wrapped": body} if isinstance(body, list) else body)
    async with fake.client() as client:
        with pytest.raises(UnexpectedResponseError, match="page of conference tokens"):
            [t async for t in client.video.conference_tokens.list(fake.add_conference())]


@pytest.mark.parametrize(
    ("conference_id", "page_size", "field"),
    [
        ("../../x", 50, "conference_id"),
        (str(uuid.uuid4()), 0, "page_size"),
        (str(uuid.uuid4()), 1001, "page_size"),
        (str(uuid.uuid4()), True, "page_size"),
    ],
)
async def test_list_arguments_are_checked_when_it_is_called(
    client: SignalWireClient, fake: FakeSignalWire, conference_id: str, page_size: int, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        client.video.conference_tokens.list(conference_id, page_size=page_size)
    assert info.value.field == field
    assert fake.requests == []


async def test_a_conference_that_does_not_exist_is_not_found(fake: FakeSignalWire) -> None:
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        with pytest.raises(NotFoundError):
            [t async for t in client.video.conference_tokens.list(str(uuid.uuid4()))]
        with pytest.raises(NotFoundError):
            await client.video.conference_tokens.get(TOKEN_ID)
        with pytest.raises(NotFoundError):
            await client.video.conference_tokens.reset(TOKEN_ID)
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_request_matches_spec(recorded)
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_the_fake_refuses_a_later_page_without_its_page_token(fake: FakeSignalWire) -> None:
    conference = fake.add_conference(tokens=3)
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        url = client.url(f"/api/video/conferences/{conference}/conference_tokens").with_query(page_number=1)
        with pytest.raises(Exception, match="page_token"):
            await client.send("GET", url, "video.conference_tokens.list")
        with pytest.raises(Exception, match="page_size"):
            await client.send("GET", url.with_query(page_size=0), "video.conference_tokens.list")
    assert [r.status for r in answers.responses] == [422, 422]
    for recorded, response in zip(fake.requests, answers.responses, strict=True):
        assert_response_matches_spec(recorded, response.status, response.body)


async def test_get_reads_one_token(fake: FakeSignalWire) -> None:
    fake.add_conference(tokens=1)
    (token_id,) = fake.conference_tokens
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        token = await client.video.conference_tokens.get(token_id)
    assert (token.id, token.token) == (token_id, fake.conference_tokens[token_id]["token"])
    assert token.token not in repr(token)
    assert fake.requests[0].path == f"/api/video/conference_tokens/{token_id}"
    assert_request_matches_spec(fake.requests[0])
    assert_response_matches_spec(fake.requests[0], 200, answers.responses[0].body)


async def test_reset_gives_the_token_a_new_value(fake: FakeSignalWire) -> None:
    fake.add_conference(tokens=1)
    (token_id,) = fake.conference_tokens
    old = fake.conference_tokens[token_id]["token"]
    answers = Answers()
    async with fake.client(attempt_middlewares=[answers]) as client:
        token = await client.video.conference_tokens.reset(token_id)
        again = await client.video.conference_tokens.get(token_id)
    assert token.token != old and token.token == again.token == fake.conference_tokens[token_id]["token"]
    assert fake.conference_token_resets == 1
    reset = fake.requests[0]
    assert (reset.method, reset.path, reset.body) == ("POST", f"/api/video/conference_tokens/{token_id}/reset", b"")
    assert_request_matches_spec(reset)
    assert_response_matches_spec(reset, 200, answers.responses[0].body)


async def test_reset_is_not_repeated_when_the_api_may_have_acted(fake: FakeSignalWire) -> None:
    fake.add_conference(tokens=1)
    (token_id,) = fake.conference_tokens
    async with fake.client() as client:
        fake.fail(500, operation="video.conference_tokens.reset")
        with pytest.raises(ServerError) as failed:
            await client.video.conference_tokens.reset(token_id)
        fake.reset(operation="video.conference_tokens.reset", after_processing=True)
        with pytest.raises(ConnectionLostError) as lost:
            await client.video.conference_tokens.reset(token_id)
    for error in (failed.value, lost.value):
        assert error.outcome_unknown and "may have been reset" in str(error)
    assert len(fake.requests) == 2
    assert fake.conference_token_resets == 1, "the lost answer's reset happened: that is why it is not repeated"


@pytest.mark.parametrize("status", [429, 503])
async def test_reset_is_retried_where_the_api_cannot_have_acted(fake: FakeSignalWire, status: int) -> None:
    fake.add_conference(tokens=1)
    (token_id,) = fake.conference_tokens
    fake.fail(status, operation="video.conference_tokens.reset", times=2)
    async with fake.client() as client:
        await client.video.conference_tokens.reset(token_id)
    assert fake.conference_token_resets == 1 and len(fake.requests) == 3


async def test_get_and_reset_check_the_id_before_sending(client: SignalWireClient, fake: FakeSignalWire) -> None:
    for call in (client.video.conference_tokens.get, client.video.conference_tokens.reset):
        with pytest.raises(InvalidRequestError) as info:
            await call("x/../../y")
        assert info.value.field == "token_id"
    assert fake.requests == []
