"""Management reviews (MR-n): `/servicedesk review`."""

from handlers.management_reviews.listeners import ManagementReviewHandlers

__all__ = ["ManagementReviewHandlers"]
