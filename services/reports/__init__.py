"""Service reports (ISO/IEC 20000-1 6.2): build the figures of a scope over a period, then
render them (Block Kit in handlers/, PDF / CSV / Markdown and charts here)."""

from services import permissions
from services.permissions import Actor
from services.reports import period
from services.reports.build import build_report
from services.reports.figures import Figures, Report
from services.reports.period import Period, parse_period
from services.reports.scope import Scope, resolve
from services.reports.sections import Detail, Records, ReportSection, Row, SectionQuery

__all__ = [
    "Figures",
    "Period",
    "Report",
    "Scope",
    "Detail",
    "Records",
    "ReportSection",
    "Row",
    "SectionQuery",
    "build_report",
    "check_requester",
    "period",
    "parse_period",
    "resolve",
]


def check_requester(actor: Actor) -> None:
    """Reports show every customer's and service's figures: service desk agents only."""
    permissions.require_agent(actor, doing="request service reports")
