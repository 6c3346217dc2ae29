"""Internal audits (AUD-n): `/audit`."""

from handlers.audits.listeners import AuditHandlers

__all__ = ["AuditHandlers"]
