"""Exceptions shared across areas of the server."""

from __future__ import annotations


class PartnerflowError(Exception):
    """Base class of the errors the server raises on purpose."""


class ConfigurationError(PartnerflowError):
    """The configuration cannot work: a URL is malformed or a service is unreachable.

    The message is one sentence meant for an operator; the CLI prints it without a
    traceback and exits with status 2.
    """


class CommandError(PartnerflowError):
    """A command refused its input; the message says why in words for a person."""
