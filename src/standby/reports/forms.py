"""Blank downtime forms prefilled with each patient's label, and the sheet of patient
labels with a QR code of the MRN (plain text beside it).

Forms: vital signs flowsheet, medication administration, progress note, order sheet —
each a page headed like every patient page (name, DOB, MRN, allergies), so a form that
falls out of a binder still says whose it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, PageBreak

from standby.fhir.summary import PatientSummary
from standby.reports import styles as st
from standby.reports.pages import Context, Marker
from standby.reports.patient import context
from standby.reports.text import para

W = 7.6 * inch


class BlankGrid(Flowable):
    """An empty ruled grid (header row + blank rows, or plain lines), drawn once per
    document as a PDF form and placed on every patient's page: the forms of a 40-bed
    unit cost one drawing each, not forty."""

    def __init__(
        self, key: str, header: Sequence[str], widths: Sequence[float], rows: int, height: float
    ) -> None:
        super().__init__()
        self.key, self.header, self.widths = key, list(header), list(widths)
        self.rows, self.row_h = rows, height
        self.head_h = 16.0 if header else 0.0
        self.width = sum(self.widths)
        self.height = self.head_h + rows * height

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (self.width, self.height)

    @property
    def name(self) -> str:
        return "grid" + hashlib.sha1(self.key.encode()).hexdigest()[:16]  # a PDF name

    def define(self, canv: Any) -> None:
        """Draw the grid as a form of `canv`'s document, once."""
        if canv.hasForm(self.name):
            return
        self.canv = canv
        canv.beginForm(self.name)
        self._draw_grid()
        canv.endForm()

    def draw(self) -> None:
        self.define(self.canv)
        self.canv.doForm(self.name)

    def _draw_grid(self) -> None:
        c = self.canv
        w, h = self.width, self.height
        if not self.header:  # ruled lines for free text
            c.setStrokeColor(colors.grey)
            c.setLineWidth(0.4)
            for k in range(self.rows):
                c.line(0, k * self.row_h, w, k * self.row_h)
            return
        c.setFillColor(st.HEAD_BG)
        c.rect(0, h - self.head_h, w, self.head_h, stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setFont(st.BOLD, 9)
        x = 0.0
        for label, cw in zip(self.header, self.widths, strict=True):
            c.drawString(x + 3, h - self.head_h + 4.5, label)
            x += cw
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.5)
        ys = [h] + [h - self.head_h - k * self.row_h for k in range(self.rows + 1)]
        for y in ys:
            c.line(0, y, w, y)
        x = 0.0
        for cw in [0.0, *self.widths]:
            x += cw
            c.line(x, 0, x, h)


def _grid(header: Sequence[str], widths: Sequence[float], rows: int, height: float) -> BlankGrid:
    return BlankGrid("-".join(header), header, widths, rows, height)


def _lines(rows: int) -> BlankGrid:
    return BlankGrid(f"lines-{rows}", [], [W], rows, 20)


def forms(s: PatientSummary) -> list[Flowable]:
    """The four blank forms of one patient (four pages)."""
    out: list[Flowable] = []
    for title, body in _specs():
        out += [
            PageBreak(),
            Marker(context(s, title)),
            para(title, st.H1),
            para(
                "Write in ink. Time every entry. This form is filed back into the "
                "EHR when it returns.",
                st.SMALL,
            ),
            body,
        ]
    return out


def grids() -> dict[str, BlankGrid]:
    """Every grid the forms draw, by its form's name (a page copied from another document
    names them: `standby.reports.reuse.CopiedPage` defines them first)."""
    return {g.name: g for _title, g in _specs()}


def _specs() -> list[tuple[str, BlankGrid]]:
    specs: list[tuple[str, BlankGrid]] = [
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
                21,
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
                19,
                25,
            ),
        ),
        ("Downtime progress note", _lines(24)),
        (
            "Downtime order sheet",
            _grid(
                ["Date / time", "Order", "Prescriber (print, sign)", "Noted by / time"],
                [1.1 * inch, 3.6 * inch, 1.6 * inch, 1.3 * inch],
                12,
                38,
            ),
        ),
    ]
    return specs


class LabelSheet(Flowable):
    """3 × 7 labels (2.5 × 1 in) for up to 7 patients per page, three labels each: a QR
    code of the MRN and, beside it, name, DOB, sex, MRN and location in plain text (text
    is set smaller to fit a long name, never cut). Each QR is drawn once per patient as a
    PDF form and placed three times."""

    COLS, ROWS = 3, 7
    LW, LH = 2.5 * inch, 1.0 * inch
    QR = 0.8 * inch

    def __init__(self, patients: Sequence[PatientSummary]) -> None:
        super().__init__()
        self.patients = list(patients)

    def wrap(self, aw: float, ah: float) -> tuple[float, float]:
        return (self.COLS * self.LW, self.ROWS * self.LH)

    def _qr_form(self, value: str) -> str:
        c = self.canv
        name = "qr" + hashlib.sha1(value.encode()).hexdigest()[:16]
        if not c.hasForm(name):
            modules = qr_modules(value)
            n = len(modules)
            cell = self.QR / (n + 2)  # a one-module quiet zone on each side
            c.beginForm(name)
            path = c.beginPath()
            for r, row in enumerate(modules):
                for k, dark in enumerate(row):
                    if dark:
                        path.rect((k + 1) * cell, (n - r) * cell, cell, cell)
            c.setFillColor(colors.black)
            c.drawPath(path, stroke=0, fill=1)
            c.endForm()
        return name

    def draw(self) -> None:
        c = self.canv
        room = self.LW - self.QR - 14
        for row, s in enumerate(self.patients[: self.ROWS]):
            h = s.header
            form = self._qr_form(h.mrn or h.patient_id)
            lines = [
                (h.name, st.BOLD, 9.5),
                (f"DOB {h.dob}  {h.sex}", st.FONT, 8.5),
                (f"MRN {h.mrn}", st.BOLD, 9.5),
                (h.location, st.FONT, 8),
            ]
            fitted = [(t, f, fit_size(t, f, z, room)) for t, f, z in lines]
            for col in range(self.COLS):
                x = col * (self.LW + 0.05 * inch)
                y = (self.ROWS - 1 - row) * self.LH
                c.setStrokeColor(colors.lightgrey)
                c.rect(x, y + 2, self.LW, self.LH - 4, stroke=1, fill=0)
                c.saveState()
                c.translate(x + 3, y + 0.1 * inch)
                c.doForm(form)
                c.restoreState()
                c.setFillColor(colors.black)
                ty = y + self.LH - 16
                for text, font, size in fitted:
                    c.setFont(font, size)
                    c.drawString(x + self.QR + 8, ty, text)
                    ty -= 13


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code matrix of `value` (error correction M, fixed mask 0: a valid code,
    quicker than trying all eight masks; the smallest version that holds the value)."""
    for version in range(1, 11):
        qr = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
        qr.addData(value)
        try:
            qr.makeImpl(False, 0)
        except Exception:  # the value does not fit this version: try the next
            continue
        n = qr.getModuleCount()
        return [[bool(qr.isDark(r, k)) for k in range(n)] for r in range(n)]
    raise ValueError(f"value too long for a label QR code: {value[:40]!r}")


def fit_size(text: str, font: str, size: float, width: float) -> float:
    """The largest size ≤ `size` (down to 5 pt) at which `text` fits `width`."""
    while size > 5 and stringWidth(text, font, size) > width:
        size -= 0.25
    return size


def label_sheets(unit_id: str, patients: Sequence[PatientSummary]) -> list[Flowable]:
    out: list[Flowable] = [Marker(Context(group=f"labels:{unit_id}", title="Patient labels"))]
    if not patients:
        return [*out, para("No patients on this unit: no labels.", st.EMPTY)]
    rows = LabelSheet.ROWS
    for i in range(0, len(patients), rows):
        if i:
            out.append(PageBreak())
        out.append(LabelSheet(patients[i : i + rows]))
    return out
