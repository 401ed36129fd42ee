"""Where the command line's credentials come from: options first, then the environment.

Missing ones are reported here, in the command line's own terms (its options and environment variables), before
the client is made: the library's own message speaks to Python callers of ``SignalWireClient.from_env``.
"""

from __future__ import annotations

import argparse
import os

from .._client import SignalWireClient

__all__ = ["UsageError", "add_credential_options", "make_client", "printable_options"]

#: (from_env keyword, option, environment variable)
_CREDENTIALS = (
    ("space", "--space", "SIGNALWIRE_SPACE"),
    ("project_id", "--project-id", "SIGNALWIRE_PROJECT_ID"),
    ("api_token", "--api-token", "SIGNALWIRE_API_TOKEN"),
)
_BASE_URL_VARIABLE = "SIGNALWIRE_BASE_URL"
#: The credential options that are no secret, (attribute, option): all but the API token.
_PRINTABLE = (("space", "--space"), ("project_id", "--project-id"), ("base_url", "--base-url"))


class UsageError(Exception):
    """The options cannot work; says what to pass instead. Nothing was sent."""


def add_credential_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "credentials (default: SIGNALWIRE_SPACE, SIGNALWIRE_PROJECT_ID, SIGNALWIRE_API_TOKEN, SIGNALWIRE_BASE_URL)"
    )
    group.add_argument("--space", help="space name or host, e.g. example or example.signalwire.com")
    group.add_argument("--project-id", help="project ID (a UUID)")
    group.add_argument("--api-token", help="API token (prefer the environment variable: flags show up in ps)")
    group.add_argument("--base-url", help="another URL for the API, e.g. a local fake space (then no space is needed)")


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def make_client(args: argparse.Namespace) -> SignalWireClient:
    """The client the options and the environment describe; :class:`UsageError` naming what is missing."""
    overrides = {
        name: value
        for name in ("space", "project_id", "api_token", "base_url")
        if (value := getattr(args, name, None)) is not None
    }
    # The rule from_env applies too: a base URL, given or in the environment, makes the space unnecessary.
    base_url = overrides.get("base_url") or os.environ.get(_BASE_URL_VARIABLE)
    missing = [
        (option + (" (or --base-url)" if name == "space" else ""), variable)
        for name, option, variable in _CREDENTIALS
        if not overrides.get(name) and not os.environ.get(variable) and not (name == "space" and base_url)
    ]
    if missing:
        options, variables = [option for option, _ in missing], [variable for _, variable in missing]
        raise UsageError(f"missing credentials: pass {_listed(options)}, or set {_listed(variables)}")
    return SignalWireClient.from_env(**overrides)


def printable_options(args: argparse.Namespace) -> list[str]:
    """The credential options given, as the words of a command printed for the user to run again: never
    ``--api-token``, a secret (the command is left to say it was given and not repeated)."""
    words: list[str] = []
    for name, option in _PRINTABLE:
        if (value := getattr(args, name, None)) is not None:
            words += [option, value]
    return words
