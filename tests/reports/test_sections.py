"""A record kind adds a section to every report by registering one object: its figures (with
the previous period's beside them), details, CSV records and charts then reach the Block Kit
summary, the uploads, the Markdown, the CSVs and the PDF without any other change."""

from __future__ import annotations

import re
import zlib

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.incident import Incident
from services.reports import build_report, files, parse_period, registry, resolve, text
from services.reports.charts import PNG_SIGNATURE, Chart, backlog_age
from services.reports.sections import Detail, Records, ReportSection, SectionQuery, count_row
from tests.reports.conftest import at

NOW = at(11, 27, 10)


class CriticalSection(ReportSection):
    """Stands in for a later kind's section (satisfaction, suppliers, …): P1 incidents
    counted by the database, a detail with text from the records, a CSV and a chart."""

    key = "critical"
    title = "Critical <!channel>"

    def measure(self, query: SectionQuery) -> int:
        return query.session.execute(
            select(func.count()).where(
                col(Incident.created_at) >= query.period.start,
                col(Incident.created_at) < query.period.end,
                Incident.priority == 1,
            )
        ).scalar_one()

    def rows(self, current, previous):  # type: ignore[no-untyped-def]
        return [count_row(self.title, "P1 incidents logged", current, previous)]

    def details(self, report, current):  # type: ignore[no-untyped-def]
        return [Detail("Critical ones", columns=("Key", "Note"), rows=(("INC-1", "<@U0BOSS>"),))]

    def records(self, session, report):  # type: ignore[no-untyped-def]
        return [Records("critical.csv", ["key", "note"], [["INC-1", "=cmd()"]])]

    def charts(self, report):  # type: ignore[no-untyped-def]
        return [Chart("critical.png", "Critical incidents", backlog_age(report))]


@pytest.fixture
def registered(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(registry, "SECTIONS", [*registry.SECTIONS, CriticalSection()])


def _report(database, policy):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return build_report(
            session, policy, resolve(policy, "all"), parse_period("2026-10", now=NOW), NOW
        )


def test_a_registered_section_is_measured_for_both_periods(database, policy, october, registered):  # type: ignore[no-untyped-def]
    report = _report(database, policy)
    # INC-1 and INC-2 in October; September's only incident (INC-7) is a P2.
    assert report.current.values["critical"] == 2
    assert report.previous.values["critical"] == 0
    rows = [r for r in text.summary_rows(report) if r.group == CriticalSection.title]
    assert [(r.label, r.current, r.previous, r.change) for r in rows] == [
        ("P1 incidents logged", "2", "0", "+2")
    ]
    # The built-in sections are on the same registry, in their order, the new one last
    # (after those other kinds registered).
    keys = [s.key for s in report.sections]
    assert keys[:8] == [
        "incidents",
        "sla",
        "availability",
        "requests",
        "changes",
        "problems",
        "backlog",
        "tests",
    ]
    assert keys[-1] == "critical"


def test_it_reaches_slack_with_its_chart(slack, fake_slack, october, registered):  # type: ignore[no-untyped-def]
    slack.command("/servicedesk", "report 2026-10", user_id="U0AGENT1")
    posted = fake_slack.last("chat.postMessage")
    fields = [f["text"] for b in posted.args["blocks"] for f in b.get("fields", [])]
    assert "*P1 incidents logged*\n2  _(prev 0, +2)_" in fields
    everything = str(posted.args["blocks"])
    assert "*Critical &lt;!channel&gt;*" in everything and "<!channel>" not in everything
    assert "INC-1 · &lt;@U0BOSS&gt;" in everything and "<@U0BOSS>" not in everything
    uploaded = {f["name"]: f for f in fake_slack.files()}
    assert uploaded["critical.png"]["content"].startswith(PNG_SIGNATURE)
    assert len(uploaded) == 5


def _pdf_text(document: bytes) -> str:
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.S)
    out = []
    for stream in streams:
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            out.append(stream.decode("latin-1"))
    return "\n".join(out)


def test_it_reaches_the_pdf_markdown_and_csv(database, policy, october, registered, tmp_path):  # type: ignore[no-untyped-def]
    report = _report(database, policy)
    with database.session() as session:
        written = files.write(session, report, formats=files.FORMATS, out_dir=tmp_path)
    names = {p.name.removeprefix("service-report-all-2026-10") for p in written}
    assert {"-critical.png", "-critical.csv", ".pdf", ".md"} <= names
    markdown = (tmp_path / "service-report-all-2026-10.md").read_text(encoding="utf-8")
    assert "| **Critical &lt;!channel&gt;** | | | |" in markdown
    assert "| P1 incidents logged | 2 | 0 | +2 |" in markdown
    assert "## Critical ones" in markdown and "| INC-1 | &lt;@U0BOSS&gt; |" in markdown
    csv_text = (tmp_path / "service-report-all-2026-10-critical.csv").read_text(encoding="utf-8")
    assert csv_text == "key,note\nINC-1,'=cmd()\n"
    figures_csv = (tmp_path / "service-report-all-2026-10-figures.csv").read_text(encoding="utf-8")
    assert "Critical <!channel>,P1 incidents logged,2,0,'+2" in figures_csv
    pdf = _pdf_text((tmp_path / "service-report-all-2026-10.pdf").read_bytes())
    assert "P1 incidents logged" in pdf and "Critical ones" in pdf


def test_a_key_registered_twice_is_refused(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(registry, "SECTIONS", [CriticalSection(), CriticalSection()])
    with pytest.raises(ValueError, match="registered twice: critical"):
        registry.sections()


def test_a_section_with_nothing_to_say_is_left_out(database, policy, october, monkeypatch):  # type: ignore[no-untyped-def]
    class Silent(CriticalSection):
        key = "silent"

        def measure(self, query):  # type: ignore[no-untyped-def]
            return None

    monkeypatch.setattr(registry, "SECTIONS", [*registry.SECTIONS, Silent()])
    report = _report(database, policy)
    assert all(r.group != Silent.title for r in text.summary_rows(report))
    assert "Critical ones" not in files.markdown(report)
