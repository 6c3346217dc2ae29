"""Incident listeners."""

from handlers.incidents.listeners import IncidentHandlers

__all__ = ["IncidentHandlers"]
