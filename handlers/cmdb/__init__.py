"""The CMDB in Slack: /ci search and show, and the type-ahead of configuration items."""

from handlers.cmdb.listeners import CmdbHandlers

__all__ = ["CmdbHandlers"]
