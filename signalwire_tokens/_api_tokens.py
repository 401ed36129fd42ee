"""``client.api_tokens``: create, update and delete project API tokens (the compatibility REST API)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from ._convert import converter, form_fields, structure_body
from ._errors import NotFoundError, SignalWireError
from ._http import FormBody, JsonBody
from ._models import ApiToken, CreateApiTokenRequest, Permission, UpdateApiTokenRequest
from ._validate import check_uuid

if TYPE_CHECKING:
    from ._client import SignalWireClient

__all__ = ["ApiTokens"]

PermissionsInput = Iterable["str | Permission"]
_MAY_EXIST = "the API token may have been created: check the project's tokens before creating it again"


class ApiTokens:
    """``POST``/``PATCH``/``DELETE /api/laml/2010-04-01/Accounts/{project_id}/tokens[/{token_id}]``."""

    def __init__(self, client: SignalWireClient) -> None:
        self._client = client
        self._collection = client.url(f"/api/laml/2010-04-01/Accounts/{client.project_id}/tokens")

    async def create(self, name: str, permissions: PermissionsInput, subproject_id: str | None = None) -> ApiToken:
        """Create an API token. Not idempotent: retried only where the API cannot have acted on it."""
        request = CreateApiTokenRequest(name, permissions, subproject_id)
        try:
            response = await self._client.send(
                "POST", self._collection, "api_tokens.create", body=FormBody(form_fields(request)), idempotent=False
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
        request = UpdateApiTokenRequest(name, permissions)
        response = await self._client.send(
            "PATCH", url, "api_tokens.update", body=JsonBody(converter.unstructure(request))
        )
        return structure_body(response, ApiToken)

    async def delete(self, token_id: str) -> None:
        """Delete a token. A 404 on a retry, after an attempt whose outcome was unknown, counts as deleted."""
        url = self._collection / check_uuid("token_id", token_id)
        try:
            await self._client.send("DELETE", url, "api_tokens.delete")
        except NotFoundError as error:
            if not error.after_unknown_outcome:
                raise
