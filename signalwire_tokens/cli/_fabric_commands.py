"""``subscriber-token create|refresh|batch``, ``guest-token create`` and ``invite-token create``: their options, and
running the ones that are not a batch (``subscriber-token batch`` runs on the batch engine of every family,
:mod:`._batch_run`). Secrets never come from an option, which ``ps`` shows: a subscriber's password from an
environment variable, a refresh token from standard input, the inviting subscriber's token from the environment."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from ..resources.fabric import SubscriberTokenRequest
from ._credentials import UsageError, add_credential_options, make_client
from ._fabric_family import SUBSCRIBER_BATCH_EPILOG, SUBSCRIBER_COLUMNS, parse_moment
from ._request_options import add_request_options, request_fields

__all__ = ["SUBSCRIBER_TOKEN_VARIABLE", "add_fabric_commands", "fabric_command"]

#: Where ``invite-token create`` reads the inviting subscriber's access token.
SUBSCRIBER_TOKEN_VARIABLE = "SIGNALWIRE_SUBSCRIBER_TOKEN"
_EXPIRY_HELP = "POSIX seconds or RFC 3339 with an offset, e.g. 2026-01-01T18:00:00Z (default: two hours from now)"


def _add_expiry(parser: argparse.ArgumentParser, dest: str) -> None:
    """``--expire-at`` on every command that takes an expiry, ``--expires-at`` accepted as well (the invite's field
    is the spec's ``expires_at``, the others' ``expire_at``): one spelling in the help, either one works."""
    parser.add_argument("--expire-at", dest=dest, type=parse_moment, metavar="WHEN", help=_EXPIRY_HELP)
    parser.add_argument("--expires-at", dest=dest, type=parse_moment, help=argparse.SUPPRESS)


def _add_password_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-env",
        metavar="VARIABLE",
        help="the environment variable holding the password to set (a password option would show up in ps)",
    )


def _subscriber_commands(commands: Any, add_batch_parser: Callable[..., argparse.ArgumentParser], exits: str) -> None:
    subscriber = commands.add_parser(
        "subscriber-token", help="make or update Call Fabric subscribers and mint their access tokens (SATs)"
    )
    actions = subscriber.add_subparsers(dest="action", required=True, metavar="ACTION")
    one = actions.add_parser(
        "create", help="make or update a subscriber and mint its token (prints token and refresh token as JSON)"
    )
    add_request_options(
        one,
        SubscriberTokenRequest,
        custom={"expire_at": lambda parser: _add_expiry(parser, "expire_at"), "password": _add_password_env},
    )
    refresh = actions.add_parser(
        "refresh",
        help="exchange a refresh token, read from standard input, for a new token and refresh token (JSON)",
        description="Reads the refresh token from standard input (a refresh token on the command line would show"
        " up in ps), e.g.: jq -r .refresh_token sat.json | signalwire-tokens subscriber-token refresh",
    )
    batch = add_batch_parser(
        actions, "subscriber token", "JSON Lines or CSV of reference, first_name, ...; - = stdin", ""
    )
    batch.epilog = SUBSCRIBER_BATCH_EPILOG.format(exit_codes=exits, columns=SUBSCRIBER_COLUMNS)
    batch.add_argument("--application-id", help="the application of rows without an application_id (a UUID)")
    for sub in (one, refresh, batch):
        add_credential_options(sub)


def _guest_and_invite_commands(commands: Any) -> None:
    guest = commands.add_parser("guest-token", help="mint Call Fabric guest tokens")
    actions = guest.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="mint a guest token for up to 10 addresses (prints it as JSON)")
    create.add_argument(
        "--address", action="append", required=True, dest="addresses", help="an allowed address (a UUID); repeatable"
    )
    _add_expiry(create, "expire_at")
    create.add_argument("--region", choices=["us-central"], help="the regional cluster the SDK connects to")
    create.add_argument("--ch", choices=["us-central"], help="the regional cluster endpoint (the SAT's ch claim)")
    invite = commands.add_parser("invite-token", help="mint Call Fabric subscriber invites")
    actions = invite.add_subparsers(dest="action", required=True, metavar="ACTION")
    make = actions.add_parser(
        "create",
        help=f"invite to a subscriber's address, as the subscriber whose token is in {SUBSCRIBER_TOKEN_VARIABLE}",
        description=f"Sent with the inviting subscriber's access token (from {SUBSCRIBER_TOKEN_VARIABLE}) as"
        " Bearer, never the project's credentials; the project's options still name the space.",
    )
    make.add_argument("--address-id", required=True, help="the subscriber address to invite to (a UUID)")
    _add_expiry(make, "expires_at")
    for sub in (create, make):
        add_credential_options(sub)


def add_fabric_commands(commands: Any, add_batch_parser: Callable[..., argparse.ArgumentParser], exits: str) -> None:
    _subscriber_commands(commands, add_batch_parser, exits)
    _guest_and_invite_commands(commands)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_env is None:
        return None
    password = os.environ.get(args.password_env)
    if password is None:
        raise UsageError(f"--password-env: {args.password_env} is not set; nothing was sent")
    return password


def _refresh_token() -> str:
    token = sys.stdin.readline().strip()
    if not token:
        raise UsageError("subscriber-token refresh reads the refresh token from standard input, and it was empty")
    # No refresh token starts as JSON does: this is a SAT's JSON, or a JSON string, the `jq -r` forgotten. The API
    # would answer 422; the message names neither the input nor a piece of it, since it holds the secrets.
    if token.startswith(("{", "[", '"')):
        raise UsageError(
            "subscriber-token refresh expected a refresh token on standard input, not JSON: take it out of the"
            " token's JSON with jq -r .refresh_token (e.g. jq -r .refresh_token sat.json | signalwire-tokens"
            " subscriber-token refresh); nothing was sent"
        )
    return token


def _subscriber_token_json(token: Any) -> dict[str, Any]:
    return {
        "subscriber_id": token.subscriber_id,
        "token": token.token,
        "refresh_token": token.refresh_token,
        "expires_at": token.expires_at.isoformat(),
    }


async def fabric_command(args: argparse.Namespace) -> int:
    """Run a Call Fabric command that is not a batch, printing its result as one JSON line."""
    if args.command == "subscriber-token" and args.action == "create":
        # The password comes from the environment variable --password-env names, never an option.
        names = (name for name in request_fields(SubscriberTokenRequest) if name != "password")
        fields = {name: value for name in names if (value := getattr(args, name)) is not None}
        request = SubscriberTokenRequest(**fields, password=_password(args))
        async with make_client(args) as client:
            result = _subscriber_token_json(await client.fabric.subscriber_tokens.mint(request))
    elif args.command == "subscriber-token":
        refresh_token = _refresh_token()
        async with make_client(args) as client:
            renewed = await client.fabric.subscriber_tokens.refresh(refresh_token)
        result = {k: v for k, v in _subscriber_token_json(renewed).items() if k != "subscriber_id"}
    elif args.command == "guest-token":
        async with make_client(args) as client:
            guest = await client.fabric.guest_tokens.create(
                args.addresses, args.expire_at, region=args.region, ch=args.ch
            )
        result = {
            "token": guest.token,
            "refresh_token": guest.refresh_token,
            "expires_at": guest.expires_at.isoformat(),
        }
    else:
        subscriber_token = os.environ.get(SUBSCRIBER_TOKEN_VARIABLE)
        if not subscriber_token:
            raise UsageError(f"set {SUBSCRIBER_TOKEN_VARIABLE} to the inviting subscriber's access token")
        async with make_client(args) as client:
            invite = await client.fabric.invite_tokens.create(
                address_id=args.address_id, subscriber_token=subscriber_token, expires_at=args.expires_at
            )
        result = {"token": invite.token, "expires_at": invite.expires_at.isoformat()}
    print(json.dumps(result))
    return 0
