"""A report as files, for the Slack upload and for `servicedesk report` (a customer's or an
auditor's copy): PNG charts, a PDF with the charts and tables, CSVs of the underlying records
and a Markdown summary. The evidence pack reuses `write`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from services.reports import text
from services.reports.charts import Chart, render_all
from services.reports.figures import Report
from services.reports.sections import Detail

if TYPE_CHECKING:
    from fpdf import FPDF

FORMATS = ("pdf", "csv", "md")


# ---- Markdown ---------------------------------------------------------------------------------


def _md(value: str) -> str:
    """Text from records (titles, names) made inert in Markdown: no HTML, no emphasis or
    links, no table breaks."""
    cleaned = " ".join(value.split()).replace("\\", "\\\\")
    for mark in ("`", "*", "_", "[", "]", "|"):
        cleaned = cleaned.replace(mark, "\\" + mark)
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        cleaned = cleaned.replace(raw, safe)
    return cleaned


def markdown(report: Report) -> str:
    """The summary as Markdown: every figure beside the previous period's, then the details."""
    lines = [
        f"# {_md(text.title(report))}",
        "",
        text.subtitle(report),
        "",
        "| Figure | This period | Previous | Change |",
        "|---|---:|---:|---:|",
    ]
    group = None
    for row in text.summary_rows(report):
        if row.group != group:
            group = row.group
            lines.append(f"| **{_md(group)}** | | | |")
        lines.append(
            f"| {_md(row.label.strip())} | {_md(row.current)} | {_md(row.previous)} | "
            f"{_md(row.change)} |"
        )
    for detail in text.details(report):
        lines.append("")
        if not detail.is_table:
            lines.append(f"**{_md(detail.heading)}:** {_md(detail.text)}")
            continue
        lines += [f"## {_md(detail.heading)}", ""]
        if not detail.rows:
            lines.append(_md(detail.empty))
            continue
        lines.append("| " + " | ".join(_md(c) for c in detail.columns) + " |")
        lines.append("|" + "---|" * len(detail.columns))
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in detail.rows]
    return "\n".join(lines) + "\n"


# ---- CSV --------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; a quote keeps it text.
    cell = "" if value is None else str(value)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _csv(header: list[str], rows: Iterable[dict[str, Any] | list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        values = [row.get(h) for h in header] if isinstance(row, dict) else row
        writer.writerow([_cell(v) for v in values])
    return out.getvalue()


def csv_files(session: Session, report: Report, *, records: bool = True) -> dict[str, str]:
    """figures.csv (the summary), then (unless `records` is False) each section's records
    (incidents.csv, breaches.csv, availability.csv, changes.csv, …)."""
    files = {
        "figures.csv": _csv(
            ["group", "figure", "this period", "previous period", "change"],
            (
                [row.group, row.label.strip(), row.current, row.previous, row.change]
                for row in text.summary_rows(report)
            ),
        )
    }
    for section in report.sections if records else ():
        for found in section.records(session, report):
            files[found.name] = _csv(found.header, found.rows)
    return files


# ---- PDF --------------------------------------------------------------------------------------

# The PDF's built-in fonts cover Latin-1 only; these read the same in it.
_PDF_SUBSTITUTES = {
    "—": "-",
    "–": "-",
    "−": "-",
    "·": "|",
    "→": "->",
    "≥": ">=",
    "×": "x",
    "…": "...",
}


def _latin1(value: str) -> str:
    for raw, safe in _PDF_SUBSTITUTES.items():
        value = value.replace(raw, safe)
    return value.encode("latin-1", "replace").decode("latin-1")


def pdf(report: Report, charts: list[Chart]) -> bytes:
    """An A4 PDF: title, the summary table, the charts, and the breach list."""
    from fpdf import FPDF  # imported when a PDF is made, not at start-up

    document = FPDF(orientation="portrait", unit="mm", format="A4")
    document.set_title(_latin1(text.title(report)))
    document.set_author("servicedesk")
    document.set_auto_page_break(auto=True, margin=15)
    document.add_page()
    document.set_font("Helvetica", "B", 16)
    document.multi_cell(0, 8, _latin1(text.title(report)), new_x="LMARGIN", new_y="NEXT")
    document.set_font("Helvetica", "", 10)
    document.multi_cell(0, 6, _latin1(text.subtitle(report)), new_x="LMARGIN", new_y="NEXT")
    document.ln(2)
    document.set_font("Helvetica", "", 9)
    with document.table(
        col_widths=(80, 35, 35, 30), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT")
    ) as table:
        heading = table.row()
        for cell in ("Figure", "This period", "Previous", "Change"):
            heading.cell(cell)
        group = None
        for row in text.summary_rows(report):
            if row.group != group:
                group = row.group
                table.row().cell(_latin1(group), colspan=4)
            line = table.row()
            for cell in ("  " + row.label.strip(), row.current, row.previous, row.change):
                line.cell(_latin1(cell))
    found = text.details(report)
    document.ln(3)
    for detail in found:
        if not detail.is_table:
            document.multi_cell(
                0, 5, _latin1(f"{detail.heading}: {detail.text}"), new_x="LMARGIN", new_y="NEXT"
            )
    for chart in charts:
        document.add_page()
        document.set_font("Helvetica", "B", 12)
        document.cell(0, 8, _latin1(chart.title), new_x="LMARGIN", new_y="NEXT")
        document.image(io.BytesIO(chart.png), w=180)
    for detail in found:
        if detail.is_table:
            _pdf_table(document, detail)
    return bytes(document.output())


def _pdf_table(document: FPDF, detail: Detail) -> None:
    document.add_page()
    document.set_font("Helvetica", "B", 12)
    document.cell(0, 8, _latin1(detail.heading), new_x="LMARGIN", new_y="NEXT")
    document.set_font("Helvetica", "", 8)
    if not detail.rows:
        document.cell(0, 6, _latin1(detail.empty), new_x="LMARGIN", new_y="NEXT")
        return
    with document.table() as table:
        heading = table.row()
        for cell in detail.columns:
            heading.cell(_latin1(cell))
        for row in detail.rows:
            line = table.row()
            for cell in row:
                line.cell(_latin1(cell))


# ---- all together -----------------------------------------------------------------------------


def file_stem(report: Report) -> str:
    return f"service-report-{report.scope.slug}-{report.period.slug}"


def write(
    session: Session,
    report: Report,
    *,
    formats: Iterable[str],
    out_dir: Path,
    records: bool = True,
) -> list[Path]:
    """Write the report in each of `formats` ("pdf", "csv", "md") under `out_dir`; returns
    the files written. PDF brings its charts as PNGs beside it; `records=False` leaves the
    records behind the figures out of the CSVs (figures.csv only)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    written: list[Path] = []
    wanted = list(dict.fromkeys(formats))
    if "pdf" in wanted:
        charts = render_all(report)
        path = out_dir / f"{stem}.pdf"
        path.write_bytes(pdf(report, charts))
        written.append(path)
        for chart in charts:
            chart_path = out_dir / f"{stem}-{chart.name}"
            chart_path.write_bytes(chart.png)
            written.append(chart_path)
    if "csv" in wanted:
        for name, content in csv_files(session, report, records=records).items():
            path = out_dir / f"{stem}-{name}"
            path.write_text(content, encoding="utf-8")
            written.append(path)
    if "md" in wanted:
        path = out_dir / f"{stem}.md"
        path.write_text(markdown(report), encoding="utf-8")
        written.append(path)
    return written
