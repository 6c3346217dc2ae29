"""Service reports (ISO/IEC 20000-1 6.2): build the figures of a scope over a period, then
render them (Block Kit in handlers/, PDF / CSV / Markdown and charts here)."""

from services import permissions
from services.permissions import Actor
from services.reports import period
from services.reports.build import build_report
from services.reports.figures import SECTION_BUILDERS, Figures, Report, Section
from services.reports.period import Period, parse_period
from services.reports.scope import Scope, resolve

__all__ = [
    "SECTION_BUILDERS",
    "Figures",
    "Period",
    "Report",
    "Scope",
    "Section",
    "build_report",
    "check_requester",
    "period",
    "parse_period",
    "resolve",
]


def check_requester(actor: Actor) -> None:
    """Reports show every customer's and service's figures: service desk agents only."""
    permissions.require_agent(actor, doing="request service reports")
