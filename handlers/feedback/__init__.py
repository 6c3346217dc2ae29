"""Complaints, compliments and satisfaction surveys in Slack."""

from handlers.feedback.listeners import FeedbackHandlers

__all__ = ["FeedbackHandlers"]
