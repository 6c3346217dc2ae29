"""The report as files: `servicedesk report` writes a PDF with charts, CSVs of the records and
a Markdown summary, against the real database."""

from __future__ import annotations

import argparse
import csv

from bot.admin_commands import report_command
from services.reports.charts import PNG_SIGNATURE
from tests.reports.conftest import at

NOW = at(11, 27, 10)


def run(database, policy, out, **options):  # type: ignore[no-untyped-def]
    args = argparse.Namespace(
        scope=options.get("scope", "all"),
        period=options.get("period", "2026-10"),
        formats=options.get("formats"),
        out=str(out),
    )
    return report_command(args, database, policy, NOW)


def test_writes_pdf_charts_csv_and_markdown(database, policy, october, tmp_path, capsys):  # type: ignore[no-untyped-def]
    tmp_path = tmp_path / "out"
    assert run(database, policy, tmp_path) == 0
    stem = "service-report-all-2026-10"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert f"{stem}.pdf" in names and f"{stem}.md" in names
    assert f"{stem}-incidents.csv" in names and f"{stem}-figures.csv" in names
    assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF-")
    charts = [n for n in names if n.endswith(".png")]
    assert len(charts) == 4
    assert all((tmp_path / n).read_bytes().startswith(PNG_SIGNATURE) for n in charts)
    assert "11 file(s) written" in capsys.readouterr().out
    with (tmp_path / f"{stem}-incidents.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["key"] for r in rows] == [f"INC-{n}" for n in (1, 2, 3, 4, 5, 8, 9)]
    inc2 = rows[1]
    assert (inc2["response_sla"], inc2["resolution_sla"]) == ("breached", "met")
    with (tmp_path / f"{stem}-figures.csv").open(encoding="utf-8") as handle:
        figures = {r["figure"]: r for r in csv.DictReader(handle)}
    assert figures["Incidents logged"]["this period"] == "7"
    assert figures["Incidents logged"]["previous period"] == "1"
    assert figures["Change success rate"]["this period"] == "66.7 %"
    markdown = (tmp_path / f"{stem}.md").read_text(encoding="utf-8")
    assert "# Service report: all services, October 2026" in markdown
    assert "| Response met | 71.4 % | 100.0 % | −28.6 pt |" in markdown
    # Titles typed by people are escaped: no HTML gets through.
    assert "P1 &lt;on&gt; payments" in markdown and "<on>" not in markdown


def test_one_format_and_a_service_scope(database, policy, october, tmp_path):  # type: ignore[no-untyped-def]
    tmp_path = tmp_path / "out"
    assert run(database, policy, tmp_path, scope="vpn", formats=["md"]) == 0
    (only,) = tmp_path.iterdir()
    assert only.name == "service-report-service-vpn-2026-10.md"
    assert "| Incidents logged | 2 | 0 | +2 |" in only.read_text(encoding="utf-8")


def test_a_bad_scope_or_period_is_a_clear_message(database, policy, tmp_path, capsys):  # type: ignore[no-untyped-def]
    tmp_path = tmp_path / "out"
    assert run(database, policy, tmp_path, scope="nosuch") == 1
    assert "nosuch is not a service, agreement or customer" in capsys.readouterr().err
    assert run(database, policy, tmp_path, period="2026-13") == 1
    assert "has no month 13" in capsys.readouterr().err
    assert not tmp_path.exists()
