"""The errors every side of cets shares.

    CetsError                 root: everything cets raises on purpose
    ├── ConfigError           a setting or file cannot be used; the message names it
    └── InvalidQuery          a query breaks a rule; the message says which (never its value)

Each service roots its own errors here too (the node's ``NodeError``, for one), so one
``except CetsError`` catches every refusal cets makes on purpose, and anything else is a defect.
Messages are safe to show a caller and to log: they never contain query text or record
contents. Adapters map these to gRPC statuses and HTTP codes in one place each.
"""

from __future__ import annotations

__all__ = ["CetsError", "ConfigError", "InvalidQuery"]


class CetsError(Exception):
    """Root of the errors cets raises on purpose."""


class ConfigError(CetsError, ValueError):
    """A setting is missing or invalid; the message names it and says what is expected."""


class InvalidQuery(CetsError):
    """The query cannot be run as given; the message says what is wrong."""
