"""Improvement opportunities (IMP-n): `/improve`."""

from handlers.improvements.listeners import ImprovementHandlers

__all__ = ["ImprovementHandlers"]
