"""One exception hierarchy for everything the data side can report.

Each docstring says what happened; each message tells a person what to do. No message ever
contains the API token: errors are built from status codes, paths and the server's own text.
"""

from __future__ import annotations


class LDError(Exception):
    """Base class: anything that went wrong fetching, storing or reading LaunchDarkly data."""


class ConfigError(LDError):
    """The dashboard or CLI was configured in a way that cannot work (bad URL, bad option)."""


class ReadOnlyError(LDError):
    """Something tried to send a request that could change LaunchDarkly data; only GET is allowed."""


class APIConnectionError(LDError):
    """LaunchDarkly could not be reached, or the connection broke, even after retries."""


class MalformedResponseError(LDError):
    """The API answered with something that is not the JSON the endpoint documents."""


class PaginationError(LDError):
    """Following ``_links.next`` went wrong (a repeated cursor, endless empty pages)."""


class APIStatusError(LDError):
    """The API answered with an error status; ``status`` and LaunchDarkly's ``code`` say which."""

    def __init__(self, message: str, *, status: int, code: str | None = None, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.path = path


class BadRequestError(APIStatusError):
    """400: the API rejected the request's parameters."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not read this resource (on beta endpoints: no engineering-insights access)."""


class NotFoundError(APIStatusError):
    """404: the project, environment or flag key does not exist on this LaunchDarkly instance."""


class RateLimitedError(APIStatusError):
    """429 kept coming until the retry budget ran out: LaunchDarkly's account-wide limit is exhausted."""


class ServerError(APIStatusError):
    """5xx kept coming until the retry budget ran out: LaunchDarkly is having trouble."""


class StoreError(LDError):
    """The event store could not be opened, read or written."""


class CLIError(Exception):
    """A problem with what was typed on the command line; shown as one line."""
