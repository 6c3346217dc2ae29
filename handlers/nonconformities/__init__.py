"""Nonconformities (NC-n): `/nc`."""

from handlers.nonconformities.listeners import NonconformityHandlers

__all__ = ["NonconformityHandlers"]
