"""Documents: each function renders one PDF (bytes) from read-model objects.

A unit's packet set (docs/reports.md): `census.pdf`, `packets.pdf` (every patient's full
packet), `mar.pdf` (every patient's MAR, to print all at once), `forms.pdf` (blank forms
prefilled with each patient's label), `labels.pdf`. Hospital-wide: `or-<day>.pdf` and
`clinics-<day>.pdf` for today and tomorrow. For the viewer: `patient_pdf` (one patient's
packet and forms) and `unit_pdf` (census + packets).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import replace

from reportlab.platypus import Flowable, PageBreak

from standby.clinical.schedules import ClinicSchedule, ORSchedule
from standby.fhir.census import Census
from standby.fhir.summary import PatientSummary
from standby.journal.entries import Entry
from standby.reports import reuse
from standby.reports import styles as st
from standby.reports.census import census_sheet
from standby.reports.documentation import documentation
from standby.reports.forms import forms, label_sheets
from standby.reports.medication_record import medications
from standby.reports.pages import Context, Furniture, Marker, PacketDoc
from standby.reports.patient import face_sheet, mar_only, notes, packet, results
from standby.reports.patient_header import context
from standby.reports.schedules import clinic_sheet, or_sheet
from standby.reports.text import para


class PDF(bytes):
    """A rendered PDF: the bytes, and how many pages they hold."""

    pages: int = 0


def _build(
    story: list[Flowable], f: Furniture, *, wide: bool = False, title: str, compact: bool = False
) -> PDF:
    st.register_fonts()
    if compact != f.compact:
        f = replace(f, compact=compact)
    buf = io.BytesIO()
    doc = PacketDoc(buf, f, wide=wide, title=title)
    doc.render(story)
    out = PDF(buf.getvalue())
    out.pages = doc.page
    return out


def _per_patient(summaries: Sequence[PatientSummary], part: str, f: Furniture) -> list[Flowable]:
    """Each patient's pages, from a new page; a patient's pages kept from the last
    generation are copied, not drawn (`standby.reports.page_cache`)."""
    story: list[Flowable] = []
    frame = {
        "banner": bool(f.banner),
        "compact": f.compact,
        "unit": f.unit,
        "charted_until": f.charted_until,
    }
    for s in summaries:
        if story:
            story.append(PageBreak())
        key = reuse.patient_key(part, s, frame)
        kept = reuse.kept_pages(key)
        if kept is not None:
            story += kept
            continue
        flow = {"packet": _packet, "mar": mar_only, "forms": forms}[part](s)
        if part in ("packet", "forms") and flow and isinstance(flow[0], PageBreak):
            flow = flow[1:]
        story += [reuse.PatientStart(key), *flow]
    if not story:
        story = [
            Marker(Context(group="empty", title=part)),
            para(f"No patients on unit {f.unit} in the replica: nothing to print.", st.EMPTY),
        ]
    return story


def _packet(s: PatientSummary) -> list[Flowable]:
    """A patient's packet, with the MAR pages `mar.pdf` drew for them copied in."""
    pages = reuse.drawn_mar(f"patient:{s.header.patient_id}")
    if not pages:
        return packet(s)
    ctx = context(s, "Medication administration record")
    copied: list[Flowable] = []
    for i, page in enumerate(pages):
        copied += [PageBreak(), reuse.CopiedPage(page, ctx if i == 0 else None)]
    return [*face_sheet(s), *medications(s), *copied, *results(s), *notes(s)]


def census_pdf(census: Census, f: Furniture) -> PDF:
    return _build(census_sheet(census), f, wide=True, title=f"Census {census.unit}", compact=True)


def packets_pdf(summaries: Sequence[PatientSummary], f: Furniture) -> PDF:
    return _build(_per_patient(summaries, "packet", f), f, title=f"Packets {f.unit}")


def mars_pdf(summaries: Sequence[PatientSummary], f: Furniture) -> PDF:
    with reuse.capturing():  # the unit's packets copy these pages (`reuse`)
        return _build(_per_patient(summaries, "mar", f), f, title=f"MARs {f.unit}")


def forms_pdf(summaries: Sequence[PatientSummary], f: Furniture) -> PDF:
    return _build(_per_patient(summaries, "forms", f), f, title=f"Downtime forms {f.unit}")


def labels_pdf(unit_id: str, summaries: Sequence[PatientSummary], f: Furniture) -> PDF:
    return _build(label_sheets(unit_id, summaries), f, title=f"Labels {f.unit}", compact=True)


def or_pdf(days: Sequence[ORSchedule], f: Furniture) -> PDF:
    story: list[Flowable] = []
    for s in days:
        if story:
            story.append(PageBreak())
        story += or_sheet(s)
    return _build(
        story, f, wide=True, title=f"OR schedule, all rooms — {_days(days)}", compact=True
    )


def clinics_pdf(days: Sequence[ClinicSchedule], f: Furniture) -> PDF:
    story: list[Flowable] = []
    for s in days:
        if story:
            story.append(PageBreak())
        story += clinic_sheet(s)
    return _build(
        story, f, wide=True, title=f"Clinic schedules, all clinics — {_days(days)}", compact=True
    )


def _days(days: Sequence[ORSchedule] | Sequence[ClinicSchedule]) -> str:
    """ "Monday 30 November 2026" or "Monday 30 November and Tuesday 1 December 2026"."""
    if not days:
        return "no days"
    names = [f"{d.day:%A} {d.day.day} {d.day:%B}" for d in days]
    return f"{' and '.join(names)} {days[-1].day:%Y}"


def patient_pdf(s: PatientSummary, f: Furniture) -> PDF:
    """One patient's packet followed by their blank forms ("print this patient")."""
    return _build([*packet(s), *forms(s)], f, title=f"Packet {s.header.mrn}")


def documentation_pdf(
    s: PatientSummary,
    entries: Sequence[Entry],
    f: Furniture,
    fate: Mapping[str, tuple[str, Entry]] | None = None,
    *,
    drill: bool = False,
) -> PDF:
    """What was documented on one patient in Standby during the downtime (`fate`: the
    entries struck or corrected, printed struck through; `drill`: a drill's)."""
    story = documentation(s, entries, fate, drill=drill)
    return _build(story, f, title=f"Downtime documentation {s.header.mrn}")


def unit_pdf(census: Census, summaries: Sequence[PatientSummary], f: Furniture) -> PDF:
    """The census sheet then every patient's packet ("print this unit"), portrait."""
    story: list[Flowable] = [*census_sheet(census)]
    for s in summaries:
        story += packet(s)  # starts with its own page break
    return _build(story, f, title=f"Unit {census.unit}")
