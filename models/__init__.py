"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models.audit import AuditEntry
from models.incident import Incident, SlaPause
from models.notification import Notification

__all__ = ["AuditEntry", "Incident", "Notification", "SlaPause"]
