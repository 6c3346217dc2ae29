"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models.audit import AuditEntry
from models.incident import Incident, SlaPause
from models.notification import Notification
from models.page import Page
from models.sla_timer import SlaTimer

__all__ = ["AuditEntry", "Incident", "Notification", "Page", "SlaPause", "SlaTimer"]
