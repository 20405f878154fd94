"""What a user may change for one question, passed to each call and never stored on the agent.

The agent is shared by every user of a deployment; these options travel with the question, so two
students asking at the same moment each get their own.

>>> from settings import AgentSettings
>>> TurnOptions.defaults(AgentSettings(retrieval_k=5)).k
5
>>> TurnOptions(k=0)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for TurnOptions
...
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TurnOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(5, ge=1, le=50, description="Passages retrieved for this question.")
    grounded_only: bool = Field(True, description="Decline questions the course materials do not cover.")
    homework_integrity: bool = Field(True, description="Point to readings instead of writing assignment solutions.")
    office_hours: bool = Field(False, description="Presenting: the trace is shown step by step (the app's concern).")

    @classmethod
    def defaults(cls, settings) -> "TurnOptions":
        """The deployment's defaults, from the :class:`settings.AgentSettings` slice."""
        return cls(k=settings.retrieval_k, grounded_only=settings.grounded_only,
                   homework_integrity=settings.homework_integrity)
