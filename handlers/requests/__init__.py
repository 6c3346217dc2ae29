"""Service requests from the catalog in Slack."""

from handlers.requests.listeners import RequestHandlers

__all__ = ["RequestHandlers"]
