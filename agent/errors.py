"""Errors of the agent layer; each message is one sentence for the CLI and the page."""

from common.errors import CourseTAError


class AgentError(CourseTAError):
    """The root of the agent layer."""


class ModelError(AgentError):
    """The chat model cannot be built, loaded or reached, or a call to it failed.

    Only real model calls are turned into this (agent/llm.py); the agent then reports it as the
    answer's ``error`` instead of raising. A bug elsewhere stays a bug.
    """


class ModelReplyError(ModelError):
    """The server was reached and answered, then reported an error in the middle of a streamed reply
    (llama.cpp's server does when it cannot parse the model's output as a tool call); a caller may
    ask again differently. A connection lost mid-reply stays a plain :class:`ModelError`."""
