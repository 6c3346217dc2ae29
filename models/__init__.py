"""Every table, imported here so that SQLModel.metadata (and Alembic) sees them all."""

from models import cmdb, links, problem, service_request  # noqa: F401  (issue 5 tables)
from models.agreement import AgreementRecord, AgreementReview, AgreementVersion  # noqa: F401
from models.audit import AuditEntry
from models.availability import TestRun, TestState, UrlCheck  # noqa: F401
from models.budget import BudgetAlert, Cost  # noqa: F401
from models.capacity import CapacityAlert, CapacityMeasurement, CapacityState  # noqa: F401
from models.change import Change, ChangeApproval, ChangeApprovalMessage, ChangeTarget  # noqa: F401
from models.improvement import Improvement, InternalAudit, Nonconformity  # noqa: F401
from models.incident import Incident, SlaPause
from models.links import RecordLink  # noqa: F401
from models.major_incident import MajorIncident, PostIncidentReview  # noqa: F401
from models.management_review import EffortEntry, ManagementReview, ManagementReviewAction  # noqa: F401
from models.notification import Notification
from models.page import Page
from models.relationship import (  # noqa: F401
    Complaint,
    Compliment,
    RelationshipReview,
    ReviewAction,
    SupplierWait,
    Survey,
)
from models.release import Release, ReleaseChange, ReleaseTest  # noqa: F401
from models.report import ReportRun  # noqa: F401
from models.service_change import AcceptanceResult, ServiceChange  # noqa: F401
from models.sla_timer import SlaTimer
from models.sms import SmsItem, SmsReview  # noqa: F401
from models.thread_post import ThreadPost  # noqa: F401

__all__ = ["AuditEntry", "Incident", "Notification", "Page", "SlaPause", "SlaTimer"]
