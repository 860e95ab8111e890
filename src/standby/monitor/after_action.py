"""The after-action report of an incident, as Markdown and as PDF (reportlab).

What it holds: when the outage began (first failed probe), when and by whom downtime was
declared, the durations (detection, first packet, first documentation — from the
declaration to the first journal entry recorded in the downtime, drill entries for a
drill and real ones otherwise, and per unit), the whole timeline
(transitions, probe evidence, messages queued and sent, the log), the role checklist and
the notifications' delivery. A drill says DRILL in the title and on every PDF page.
No patient data: the incident holds none. docs/monitor.md#incidents
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standby.monitor import incidents
from standby.monitor.incidents import ChecklistItem, Event, Incident
from standby.monitor.notify import outbox
from standby.monitor.notify.outbox import OutboxRow
from standby.monitor.status import shown
from standby.store.base import Store

NOT_YET = "not available yet"

# When documentation began: (since, until, drill) → the first journal entry recorded in
# [since, until) and each unit's first. This package reads only its own tables: the
# composition root passes `standby.clinical.documentation_times.first_documentation`.
FirstDocumentation = Callable[
    [datetime, datetime | None, bool], tuple[datetime | None, Sequence[tuple[str, datetime]]]
]


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return NOT_YET
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    return str(timedelta(seconds=round(seconds)))


@dataclass(frozen=True)
class Report:
    incident: Incident
    events: list[Event]
    checklist: list[ChecklistItem]
    notifications: list[OutboxRow]
    # the audit chain's head when the report was made, from the composition root (this
    # package does not read the accounts): a copy of it outside the database once the
    # report is printed or filed (docs/security.md#the-audit-log)
    audit_head: str | None = None
    # the first journal entry of this downtime (None: none, or not looked up) and each
    # unit's first, earliest first
    first_documentation: datetime | None = None
    units_first_documented: list[tuple[str, datetime]] = field(default_factory=list)
    # back-entry's reconciliation in a few lines (label, value), from the composition root
    # (this package does not read back-entry's state): docs/recovery.md#reconciliation-report
    back_entry: tuple[tuple[str, str], ...] = ()

    @property
    def title(self) -> str:
        kind = "DRILL — after-action report" if self.incident.drill else "After-action report"
        return f"{kind}: {self.incident.id}"

    def figures(self) -> list[tuple[str, str]]:
        i = self.incident
        start = i.outage_started_at or i.declared_at
        return [
            ("Outage began (first failed probe)", shown(i.outage_started_at)),
            ("Downtime declared", f"{shown(i.declared_at)} by {i.declared_by} ({i.how})"),
            ("Downtime ended", f"{shown(i.ended_at)} by {i.ended_by}" if i.ended_at else "open"),
            (
                "Time to detection (first failed probe → declared)",
                duration(i.outage_started_at, i.declared_at),
            ),
            ("Time to first packet", duration(start, i.first_packet_at)),
            (
                "Time to first documentation",
                duration(i.declared_at, self.first_documentation),
            ),
            ("Length of downtime", duration(i.declared_at, i.ended_at)),
        ] + (
            [("Audit chain head when this report was made", self.audit_head)]
            if self.audit_head
            else []
        )


def build(
    store: Store,
    incident_id: str,
    *,
    audit_head: str | None = None,
    documentation: FirstDocumentation | None = None,
    back_entry: Callable[[], Sequence[tuple[str, str]]] | None = None,
) -> Report:
    """The report of one incident. `documentation` (from the composition root) says when
    documentation in Standby began; without it, only the incident's own record of it.
    `back_entry`: the reconciliation's lines, asked only for a real downtime that has
    ended (back-entry starts after the end; a drill's back-entry files drill entries
    only, into a test EHR, so the real journal's reconciliation is not the drill's)."""
    incident = incidents.get(store, incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    first, units = incident.first_documentation_at, []
    if documentation is not None:
        found, per_unit = documentation(incident.declared_at, incident.ended_at, incident.drill)
        first, units = found or first, list(per_unit)
    return Report(
        incident,
        incidents.timeline(store, incident_id),
        incidents.checklist(store, incident_id),
        outbox.rows(store, incident_id),
        audit_head,
        first,
        units,
        tuple(back_entry())
        if back_entry is not None and not incident.drill and incident.ended_at is not None
        else (),
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    if report.incident.drill:
        lines += ["**DRILL** — this was an exercise, not a real downtime.", ""]
    lines += ["| | |", "|---|---|"]
    lines += [f"| {k} | {_cell(v)} |" for k, v in report.figures()]
    if report.units_first_documented:
        lines += [
            "",
            "## First documentation by unit",
            "",
            "| unit | first entry (UTC) | after the declaration |",
            "|---|---|---|",
        ]
        for unit, first in report.units_first_documented:
            when = first.strftime("%Y-%m-%d %H:%M:%S")
            lines.append(
                f"| {_cell(unit)} | {when} | {duration(report.incident.declared_at, first)} |"
            )
    if report.back_entry:
        lines += ["", "## Back-entry (reconciliation)", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {_cell(v)} |" for k, v in report.back_entry]
    lines += ["", "## Timeline", "", "| time (UTC) | what | who | detail |", "|---|---|---|---|"]
    for e in report.events:
        at = e.at.strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"| {at} | {e.kind} | {_cell(e.actor)} | {_cell(e.text)} |")
    lines += ["", "## Role checklist", ""]
    for c in report.checklist:
        mark = "x" if c.done else " "
        who = f" — {c.done_by}, {shown(c.done_at)}" if c.done else ""
        lines.append(f"- [{mark}] **{c.role}**: {c.item}{who}")
    lines += [
        "",
        "## Notifications",
        "",
        "| event | channel | recipient | status | attempts |",
        "|---|---|---|---|---|",
    ]
    for n in report.notifications:
        lines.append(
            f"| {n.event} | {n.channel} | {_cell(n.recipient)} | {n.status} | {n.attempts} |"
        )
    return "\n".join(lines) + "\n"


def pdf(report: Report) -> bytes:
    """The same report as a PDF; a drill is labelled DRILL at the top of every page."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()
    drill = report.incident.drill

    def on_page(c: Any, doc: Any) -> None:
        c.saveState()
        w, h = letter
        label = "DRILL — NOT A REAL DOWNTIME" if drill else "EHR DOWNTIME — after-action report"
        c.setFillColor(colors.HexColor("#6a1b9a") if drill else colors.HexColor("#1a237e"))
        c.rect(0, h - 0.45 * inch, w, 0.45 * inch, fill=1, stroke=0)
        c.setFillColor(colors.white)
        c.setFont("Helvetica-Bold", 12)
        c.drawString(0.5 * inch, h - 0.3 * inch, f"{label}   {report.incident.id}")
        c.setFillColor(colors.black)
        c.setFont("Helvetica", 8)
        c.drawString(0.5 * inch, 0.4 * inch, f"Page {c.getPageNumber()}")
        c.restoreState()

    doc = SimpleDocTemplate(buf, pagesize=letter, topMargin=0.8 * inch, title=report.title)
    story: list[Any] = [Paragraph(escape(report.title), styles["Title"])]

    def table(rows: list[list[str]], widths: list[float]) -> Table:
        data = [[Paragraph(escape(c), small) for c in r] for r in rows]
        t = Table(data, colWidths=[w * inch for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eaf6")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story.append(table([["", ""], *[[k, v] for k, v in report.figures()]], [2.3, 5.0]))
    if report.units_first_documented:
        story += [Spacer(1, 12), Paragraph("First documentation by unit", styles["Heading2"])]
        story.append(
            table(
                [["unit", "first entry (UTC)", "after the declaration"]]
                + [
                    [u, at.strftime("%m-%d %H:%M:%S"), duration(report.incident.declared_at, at)]
                    for u, at in report.units_first_documented
                ],
                [3.5, 1.8, 2.0],
            )
        )
    if report.back_entry:
        story += [Spacer(1, 12), Paragraph("Back-entry (reconciliation)", styles["Heading2"])]
        story.append(table([["", ""], *[[k, v] for k, v in report.back_entry]], [2.3, 5.0]))
    story += [Spacer(1, 12), Paragraph("Timeline", styles["Heading2"])]
    story.append(
        table(
            [["time (UTC)", "what", "who", "detail"]]
            + [[e.at.strftime("%m-%d %H:%M:%S"), e.kind, e.actor, e.text] for e in report.events],
            [1.0, 1.1, 1.1, 4.1],
        )
    )
    story += [Spacer(1, 12), Paragraph("Role checklist", styles["Heading2"])]
    story.append(
        table(
            [["role", "item", "done"]]
            + [
                [c.role, c.item, f"{c.done_by}, {shown(c.done_at)}" if c.done else "—"]
                for c in report.checklist
            ],
            [1.1, 4.4, 1.8],
        )
    )
    story += [Spacer(1, 12), Paragraph("Notifications", styles["Heading2"])]
    story.append(
        table(
            [["event", "channel", "recipient", "status", "attempts"]]
            + [
                [n.event, n.channel, n.recipient, n.status, str(n.attempts)]
                for n in report.notifications
            ],
            [1.3, 0.9, 3.1, 1.0, 1.0],
        )
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
