"""/servicedesk and the availability test buttons."""

from handlers.servicedesk.listeners import ServiceDeskHandlers

__all__ = ["ServiceDeskHandlers"]
