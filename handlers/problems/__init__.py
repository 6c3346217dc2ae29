"""Problems and known errors in Slack."""

from handlers.problems.listeners import ProblemHandlers

__all__ = ["ProblemHandlers"]
