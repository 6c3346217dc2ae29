"""Change listeners."""

from handlers.changes.listeners import ChangeHandlers

__all__ = ["ChangeHandlers"]
