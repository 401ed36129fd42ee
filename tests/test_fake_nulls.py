"""The fake space refuses ``null`` wherever the spec's types have none: every field of every JSON request body the
spec documents, each with the documented 422 naming it (schemathesis found ``user_name: null`` and the like taken)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signalwire_tokens import JsonBody, RetryPolicy, Security, UnprocessableEntityError
from signalwire_tokens.testing import FakeSignalWire

from .conftest import SPEC, assert_response_matches_spec, spec_request
from .support import Answers
from .test_fake_space import SERVED, VALID


def json_fields() -> Iterator[tuple[str, str]]:
    """(operation, field) for every property of every JSON request body the spec documents."""
    for _, path_item in (SPEC.spec / "paths").items():
        for _, operation in path_item.items():
            schema = operation / "requestBody" / "content" / "application/json" / "schema"
            if schema.exists():
                name = SERVED[(operation / "operationId").read_str()]
                yield from ((name, field) for field in (schema / "properties").str_keys())


def test_the_fields_schemathesis_found_are_among_them() -> None:
    fields = set(json_fields())
    for field in ("user_name", "join_from", "join_until", "remove_at", "room_display_name"):
        assert ("video.room_tokens.create", field) in fields
    for field in ("expire_at", "fingerprint", "password"):
        assert ("fabric.subscriber_tokens.create", field) in fields
    assert ("project_tokens.create", "subproject_id") in fields


@pytest.mark.parametrize(("operation", "field"), list(json_fields()))
async def test_null_is_refused_where_the_spec_s_type_has_none(
    each_fake: FakeSignalWire, operation: str, field: str
) -> None:
    method, path, valid = VALID[operation]
    assert isinstance(valid, JsonBody)
    answers = Answers()
    async with each_fake.client(retry=RetryPolicy.disabled(), attempt_middlewares=[answers]) as client:
        # An invite is authenticated with a subscriber's SAT; every other operation here with the project's.
        options: dict[str, Security] = {}
        if operation == "fabric.invite_tokens.create":
            sat = await client.fabric.subscriber_tokens.create("inviter")
            options["security"] = Security.bearer_token(sat.token)
        with pytest.raises(UnprocessableEntityError) as refused:
            await client.send(method, client.url(path), "raw", body=JsonBody({**valid.data, field: None}), **options)
    assert refused.value.attribute == field
    recorded = each_fake.requests[-1]
    assert SPEC.unmarshal_request(spec_request(recorded)).errors, "the spec's type has no null"
    assert_response_matches_spec(recorded, 422, answers.responses[-1].body)
