"""The wristband label of a patient registered while the EHR is down (a PDF).

One strip, sized for a wristband label insert (10 × 1.25 in): "DOWNTIME" white on black,
so that no one takes it for an EHR band ("DRILL" / "NOT A REAL BAND" on a drill's, so
that no one puts it on a real patient); the patient's name, birth date and sex; the
downtime MRN as text and as a Code 128 barcode (what ward scanners read), the downtime
encounter number, and when and where it was registered. Two identical strips on the
page: one for the wrist, one spare for the chart. Bedside checks read the MRN from the
band (`standby.journal.warnings.patient_confirmed`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from standby.reports import styles as st

STRIP_W = 10 * inch
STRIP_H = 1.25 * inch
GAP = 0.5 * inch


@dataclass(frozen=True, slots=True)
class Wristband:
    name: str  # "SMITH, John"
    dob: str  # "1956-03-02"
    sex: str
    mrn: str  # the downtime MRN
    encounter: str  # the downtime encounter number
    registered: str  # "Registered 30 Nov 02:14 during EHR downtime"
    where: str  # "4W 412-B", "ED"
    drill: bool = False


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size ≤ `size` at which `text` fits in `width`."""
    while size > 6 and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _strip(c: canvas.Canvas, w: Wristband, y: float) -> None:
    c.setStrokeColor(colors.black)
    c.setLineWidth(0.6)
    c.rect(0.25 * inch, y, STRIP_W - 0.5 * inch, STRIP_H)
    # "DOWNTIME", white on black, the whole height of the strip
    c.setFillColor(colors.black)
    c.rect(0.25 * inch, y, 1.55 * inch, STRIP_H, stroke=0, fill=1)
    c.setFillColor(colors.white)
    c.setFont(st.BOLD, 17)
    c.drawCentredString(1.025 * inch, y + STRIP_H / 2 + 2, "DRILL" if w.drill else "DOWNTIME")
    c.setFont(st.BOLD, 7.5)
    c.drawCentredString(
        1.025 * inch, y + STRIP_H / 2 - 12, "NOT A REAL BAND" if w.drill else "NOT IN THE EHR"
    )
    c.setFillColor(colors.black)
    x = 1.95 * inch
    text_w = 3.9 * inch
    size = _fit(w.name, st.BOLD, 15, text_w)
    c.setFont(st.BOLD, size)
    c.drawString(x, y + STRIP_H - 20, w.name)
    c.setFont(st.BOLD, 11)
    c.drawString(x, y + STRIP_H - 36, f"DOB {w.dob}   Sex {w.sex}")
    c.drawString(x, y + STRIP_H - 51, f"Downtime MRN {w.mrn}")
    c.setFont(st.FONT, 7.5)
    c.drawString(x, y + 15, f"Encounter {w.encounter} · {w.where}"[:90])
    c.drawString(x, y + 5, w.registered[:95])
    # the MRN as a barcode, with its text under it (what a scanner and an eye read)
    bc = code128.Code128(w.mrn, barHeight=0.62 * inch, barWidth=1.1, humanReadable=False)
    bx = STRIP_W - 0.4 * inch - bc.width
    bc.drawOn(c, bx, y + 0.42 * inch)
    c.setFont(st.BOLD, 9)
    c.drawCentredString(bx + bc.width / 2, y + 0.2 * inch, w.mrn)


def wristband_pdf(w: Wristband) -> bytes:
    """The label page: two identical strips (wrist and chart)."""
    st.register_fonts()
    buf = io.BytesIO()
    height = 2 * STRIP_H + 3 * GAP
    c = canvas.Canvas(buf, pagesize=(STRIP_W, height))
    c.setTitle(f"Downtime wristband {w.mrn}")
    c.setAuthor("Standby")
    for k in range(2):
        _strip(c, w, GAP + k * (STRIP_H + GAP))
    c.showPage()
    c.save()
    return buf.getvalue()
