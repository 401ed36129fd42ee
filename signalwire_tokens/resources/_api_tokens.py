"""``client.api_tokens`` and ``client.project_tokens``: create, update and delete API tokens, through the
compatibility REST API or the platform API. The two share arguments, checks, results and retry rules; they differ
in where the collection lives and how a create is encoded."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from .._errors import NotFoundError, SignalWireError
from .._http import Body, FormBody, JsonBody
from .._validate import check_uuid
from ._api_token_models import ApiToken, CreateApiTokenRequest, Permission, UpdateApiTokenRequest
from ._convert import converter, form_fields, structure_body

if TYPE_CHECKING:
    from yarl import URL

    from .._client import SignalWireClient

__all__ = ["ApiTokens", "ProjectTokens"]

PermissionsInput = Iterable["str | Permission"]
_MAY_EXIST = "the API token may have been created: check the project's tokens before creating it again"


class _TokenAdmin(abc.ABC):
    """Create, update and delete API tokens in ``collection``; operations are named ``{family}.create`` etc."""

    def __init__(self, client: SignalWireClient, collection: URL, family: str) -> None:
        self._client = client
        self._collection = collection
        self._family = family

    @abc.abstractmethod
    def _create_body(self, request: CreateApiTokenRequest) -> Body: ...

    async def create(self, name: str, permissions: PermissionsInput, subproject_id: str | None = None) -> ApiToken:
        """Create an API token. Not idempotent: retried only where the API cannot have acted on it."""
        body = self._create_body(CreateApiTokenRequest(name, permissions, subproject_id))
        try:
            response = await self._client.send(
                "POST", self._collection, f"{self._family}.create", body=body, idempotent=False
            )
        except SignalWireError as error:
            if not error.outcome_unknown:
                raise
            # What the unknown outcome means here, said where it is known: a new error, complete when made.
            raise attrs.evolve(error, notes=(*error.notes, _MAY_EXIST)) from None
        return structure_body(response, ApiToken)

    async def update(
        self, token_id: str, *, name: str | None = None, permissions: PermissionsInput | None = None
    ) -> ApiToken:
        """Change a token's name and/or permissions; fields left out are kept."""
        url = self._collection / check_uuid("token_id", token_id)
        body = JsonBody(converter.unstructure(UpdateApiTokenRequest(name, permissions)))
        response = await self._client.send("PATCH", url, f"{self._family}.update", body=body)
        return structure_body(response, ApiToken)

    async def delete(self, token_id: str) -> None:
        """Delete a token. A 404 on a retry, after an attempt whose outcome was unknown, counts as deleted."""
        url = self._collection / check_uuid("token_id", token_id)
        try:
            await self._client.send("DELETE", url, f"{self._family}.delete")
        except NotFoundError as error:
            if not error.after_unknown_outcome:
                raise


class ApiTokens(_TokenAdmin):
    """``POST``/``PATCH``/``DELETE /api/laml/2010-04-01/Accounts/{project_id}/tokens[/{token_id}]``; a create is
    form-encoded, ``permissions`` repeated once per value."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, client.url(f"/api/laml/2010-04-01/Accounts/{client.project_id}/tokens"), "api_tokens")

    def _create_body(self, request: CreateApiTokenRequest) -> Body:
        return FormBody(form_fields(request))


class ProjectTokens(_TokenAdmin):
    """``POST``/``PATCH``/``DELETE /api/project/tokens[/{token_id}]`` (the platform API); a create is JSON."""

    def __init__(self, client: SignalWireClient) -> None:
        super().__init__(client, client.url("/api/project/tokens"), "project_tokens")

    def _create_body(self, request: CreateApiTokenRequest) -> Body:
        return JsonBody(converter.unstructure(request))
