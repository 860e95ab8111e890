"""Blank downtime forms prefilled with each patient's label, and the sheet of patient
labels with a QR code of the MRN (plain text beside it).

Forms: vital signs flowsheet, medication administration, progress note, order sheet —
each a page headed like every patient page (name, DOB, MRN, allergies), so a form that
falls out of a binder still says whose it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, PageBreak, Paragraph, Table, TableStyle

from standby.fhir.summary import PatientSummary
from standby.reports import styles as st
from standby.reports.pages import Context, Marker
from standby.reports.patient import context

W = 7.6 * inch


def _grid(header: Sequence[str], widths: Sequence[float], rows: int, height: float) -> Table:
    data = [list(header)] + [[""] * len(header) for _ in range(rows)]
    t = Table(data, colWidths=list(widths), rowHeights=[16] + [height] * rows, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), st.BOLD, 9),
                ("BACKGROUND", (0, 0), (-1, 0), st.HEAD_BG),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return t


def _lines(rows: int) -> Table:
    t = Table([[""] for _ in range(rows)], colWidths=[W], rowHeights=[20] * rows)
    t.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.grey)]))
    return t


def forms(s: PatientSummary) -> list[Flowable]:
    """The four blank forms of one patient (four pages)."""
    out: list[Flowable] = []
    specs: list[tuple[str, Flowable]] = [
        (
            "Downtime vital signs flowsheet",
            _grid(
                ["Date / time", "BP", "HR", "RR", "Temp", "SpO2", "Pain", "Initials"],
                [
                    1.3 * inch,
                    1.0 * inch,
                    0.8 * inch,
                    0.8 * inch,
                    0.9 * inch,
                    0.9 * inch,
                    0.8 * inch,
                    1.1 * inch,
                ],
                26,
                22,
            ),
        ),
        (
            "Downtime medication administration",
            _grid(
                ["Date / time", "Drug", "Dose", "Route", "Site / notes", "Initials", "Witness"],
                [
                    1.1 * inch,
                    2.3 * inch,
                    0.8 * inch,
                    0.8 * inch,
                    1.2 * inch,
                    0.7 * inch,
                    0.7 * inch,
                ],
                22,
                25,
            ),
        ),
        ("Downtime progress note", _lines(30)),
        (
            "Downtime order sheet",
            _grid(
                ["Date / time", "Order", "Prescriber (print, sign)", "Noted by / time"],
                [1.1 * inch, 3.6 * inch, 1.6 * inch, 1.3 * inch],
                14,
                38,
            ),
        ),
    ]
    for title, body in specs:
        out += [
            PageBreak(),
            Marker(context(s, title)),
            Paragraph(title, st.H1),
            Paragraph(
                "Write in ink. Time every entry. This form is filed back into the "
                "EHR when it returns.",
                st.SMALL,
            ),
            body,
        ]
    return out


class LabelSheet(Flowable):
    """3 × 10 labels (Avery 5160 size: 2.625 × 1 in) for up to 10 patients per page,
    three labels each: QR code of the MRN and the two identifiers in text."""

    COLS, ROWS = 3, 8
    LW, LH = 2.5 * inch, 1.0 * inch

    def __init__(self, patients: Sequence[PatientSummary]) -> None:
        super().__init__()
        self.patients = list(patients)

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (self.COLS * self.LW, self.ROWS * self.LH)

    def draw(self) -> None:
        c = self.canv
        for row, s in enumerate(self.patients[: self.ROWS]):
            h = s.header
            for col in range(self.COLS):
                x = col * (self.LW + 0.05 * inch)
                y = (self.ROWS - 1 - row) * self.LH
                c.setStrokeColor(colors.lightgrey)
                c.rect(x, y + 2, self.LW, self.LH - 4, stroke=1, fill=0)
                qr = QrCodeWidget(h.mrn or h.patient_id)
                b = qr.getBounds()
                size = 0.8 * inch
                dr = Drawing(
                    size, size, transform=[size / (b[2] - b[0]), 0, 0, size / (b[3] - b[1]), 0, 0]
                )
                dr.add(qr)
                renderPDF.draw(dr, c, x + 3, y + 0.1 * inch)
                tx = x + size + 8
                c.setFillColor(colors.black)
                c.setFont(st.BOLD, 9)
                c.drawString(tx, y + self.LH - 16, h.name[:26])
                c.setFont(st.FONT, 8.5)
                c.drawString(tx, y + self.LH - 29, f"DOB {h.dob}  {h.sex}")
                c.setFont(st.BOLD, 9)
                c.drawString(tx, y + self.LH - 42, f"MRN {h.mrn}")
                c.setFont(st.FONT, 8)
                c.drawString(tx, y + self.LH - 55, h.location[:28])


def label_sheets(unit_id: str, patients: Sequence[PatientSummary]) -> list[Flowable]:
    out: list[Flowable] = [Marker(Context(group=f"labels:{unit_id}", title="Patient labels"))]
    if not patients:
        return [*out, Paragraph("No patients on this unit: no labels.", st.EMPTY)]
    rows = LabelSheet.ROWS
    for i in range(0, len(patients), rows):
        if i:
            out.append(PageBreak())
        out.append(LabelSheet(patients[i : i + rows]))
    return out
