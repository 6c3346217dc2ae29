"""Service reports (ISO/IEC 20000-1 6.2): build the figures of a scope over a period, then
render them (Block Kit in handlers/, PDF / CSV / Markdown and charts here)."""

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
    "parse_period",
    "resolve",
]
