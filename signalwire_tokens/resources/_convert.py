"""The library's one cattrs converter: models to wire data and back. Nothing is registered on cattrs' global one."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from .._errors import UnexpectedResponseError
from .._http import Response
from ._api_token_models import CreateApiTokenRequest, UpdateApiTokenRequest
from ._channel_models import ChannelTokenRequest

__all__ = ["converter", "form_fields", "make_converter", "structure_body", "unstructure_channel_request"]

T = TypeVar("T")


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    # Optional fields the caller left out are left out on the wire, not sent as null.
    conv.register_unstructure_hook(
        UpdateApiTokenRequest, make_dict_unstructure_fn(UpdateApiTokenRequest, conv, _cattrs_omit_if_default=True)
    )
    # Chat and PubSub requests (one schema) and any subclass: a predicate, since cattrs matches hooks by exact class.
    conv.register_unstructure_hook_func(_is_channel_request, unstructure_channel_request)
    conv.register_unstructure_hook(
        CreateApiTokenRequest,
        make_dict_unstructure_fn(CreateApiTokenRequest, conv, subproject_id=override(omit_if_default=True)),
    )
    conv.register_structure_hook(str, _strict_str)
    return conv


def _is_channel_request(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, ChannelTokenRequest)


def unstructure_channel_request(request: ChannelTokenRequest) -> dict[str, Any]:
    # Written out by hand: it runs once per minted token, and the generated version walks the mapping generically.
    data: dict[str, Any] = {
        "ttl": request.ttl,
        "channels": {name: {"read": p.read, "write": p.write} for name, p in request.channels.items()},
    }
    if request.member_id is not None:
        data["member_id"] = request.member_id
    if request.state is not None:
        data["state"] = dict(request.state)
    return data


def _strict_str(value: Any, _cls: type[str]) -> str:
    # cattrs' default would str() anything; a number where the API promised a string is a malformed answer.
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


converter = make_converter()


def form_fields(request: CreateApiTokenRequest) -> tuple[tuple[str, str], ...]:
    """The create request as form fields, ``permissions`` repeated once per value as the API's curl example does."""
    fields: list[tuple[str, str]] = []
    for key, value in converter.unstructure(request).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        fields.extend((key, str(v)) for v in values)
    return tuple(fields)


def structure_body(response: Response, cls: type[T]) -> T:
    """The success body of ``response`` as ``cls``, or an :class:`UnexpectedResponseError` saying why not."""
    try:
        result: T = converter.get_structure_hook(cls)(json.loads(response.body), cls)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError) as error:
        raise UnexpectedResponseError(
            f"the API answered {response.status} to {response.request.operation} with a body that is not"
            f" a {cls.__name__} ({type(error).__name__})"
        ) from None
    return result
