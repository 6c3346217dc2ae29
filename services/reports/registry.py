"""Every section a report holds, in the order it shows them. A record kind that reports on
its records adds its section here with one line at the end (see services.reports.sections);
the builder and every renderer pick it up."""

from __future__ import annotations

from services.capacity_report import CapacitySection
from services.relationship_report import SatisfactionSection, SupplierSection
from services.reports.builtin_sections import BUILT_IN
from services.reports.sections import ReportSection

SECTIONS: list[ReportSection] = [
    *BUILT_IN,
    SatisfactionSection(),
    SupplierSection(),
    CapacitySection(),
]


def sections() -> tuple[ReportSection, ...]:
    """The registered sections; a key used twice is a programming error caught at once."""
    keys = [section.key for section in SECTIONS]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"report sections registered twice: {', '.join(duplicates)}")
    return tuple(SECTIONS)


def by_key(*keys: str) -> tuple[ReportSection, ...]:
    """Only the registered sections named, for a reader that needs a few figures (the SMS
    objectives, the evidence pack) without measuring the whole report."""
    return tuple(section for section in sections() if section.key in keys)
