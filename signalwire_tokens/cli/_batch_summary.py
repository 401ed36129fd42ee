"""What a batch tells its user: the count of the result lines written (the one source of both the progress line and
the summary, so that they never disagree), and the command that resumes it."""

from __future__ import annotations

import argparse
import shlex

import attrs

from .._batch_item import BatchItem
from .._errors import ApiError, TransportError
from ._batch_files import STDIO
from ._credentials import printable_options

__all__ = ["Tally", "plural", "resume_command"]


def plural(count: int, noun: str) -> str:
    """``1 invalid row``, ``2 invalid rows``: the count and its noun, the noun's last word agreeing."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


@attrs.define
class Tally:
    """The result lines written, by kind. A row counts once its line is on disk, never before."""

    minted: int = 0
    #: Rows the API answered with an error (ApiError: a 4xx, or a 5xx after its retries).
    refused: int = 0
    #: Rows whose requests never got an answer (TransportError: a connection refused or lost, a timeout).
    transport_failed: int = 0
    #: Rows that failed otherwise (an answer that is not the API's documented one, say).
    other_failed: int = 0
    budget_refused: int = 0
    skipped: int = 0
    #: 429s the batch waited out (each a wait until its Retry-After, not a failure).
    throttled: int = 0

    @property
    def written(self) -> int:
        return self.minted + self.failed

    @property
    def failed(self) -> int:
        return self.refused + self.transport_failed + self.other_failed + self.budget_refused

    def count(self, item: BatchItem) -> None:
        if item.ok:
            self.minted += 1
        elif item.error.retry_budget_exhausted:
            self.budget_refused += 1
        elif isinstance(item.error, ApiError):
            self.refused += 1
        elif isinstance(item.error, TransportError):
            self.transport_failed += 1
        else:
            self.other_failed += 1

    def summary(self, noun: str, total: int, output: str) -> str:
        text = f"{self.minted:,} of {plural(total, noun)} minted, {self.failed:,} failed"
        kinds = [
            (self.refused, f"{self.refused:,} refused by the API"),
            (self.transport_failed, f"{plural(self.transport_failed, 'transport failure')}: connection or timeout"),
            (self.other_failed, plural(self.other_failed, "other failure")),
            (self.budget_refused, f"{self.budget_refused:,} not retried: retry budget spent"),
        ]
        if self.failed:
            text += f" ({', '.join(said for count, said in kinds if count)})"
        if self.skipped:
            text += f", {self.skipped:,} skipped (already in {output})"
        if self.throttled:
            text += f", {plural(self.throttled, 'rate limit wait')} (429)"
        return text + ("" if output == STDIO else f"; results in {output}")


def resume_command(args: argparse.Namespace, default_options: list[str]) -> str:
    """The command that resumes the batch ``args`` describe, every option as given (``default_options`` are its
    family's: ``--ttl``...) but the API token; then, if it was an option, a line saying to give it again."""
    words = ["signalwire-tokens", args.command, "batch", "--input", args.input, "--output", args.output]
    for option, value in (("--format", args.format), ("--max-rate", args.max_rate)):
        if value is not None:
            words += [option, str(value)]
    words += default_options
    if not args.ordered:
        words.append("--no-ordered")
    command = shlex.join([*words, "--concurrency", str(args.concurrency), *printable_options(args), "--resume"])
    if args.api_token is None:
        return command
    return (
        command + "\n  with the API token: --api-token is not repeated here (a secret); give it again, or set"
        " SIGNALWIRE_API_TOKEN"
    )
