"""The results pages as clinicians read them: vitals as sets with flags in words and a
chart screen readers can read, labs by panel with the previous value, units as written."""

from __future__ import annotations

import html
import re
from typing import Any

from standby import clinical
from support.web_site import Hospital


def _summaries(h: Hospital) -> list[Any]:
    census = clinical.unit_census(h.store, h.unit_id, h.clock.now)
    return [p for p in census.patients]


def _page_with(h: Hospital, test: Any) -> tuple[Any, str]:
    c = h.login("nurse")
    for p in _summaries(h):
        text = c.get(f"/patients/{p.id}").text
        if test(text):
            return p, text
    raise AssertionError("no patient on the unit shows it")


def test_vitals_chart_is_described_to_screen_readers(hospital: Hospital) -> None:
    _, text = _page_with(hospital, lambda t: "<svg" in t)
    svg = text[text.index("<svg") : text.index("</svg>")]
    assert "&lt;desc" not in svg and "&lt;/desc" not in svg
    m = re.search(r'aria-labelledby="([^"]+)"', svg)
    d = re.search(r'aria-describedby="([^"]+)"', svg)
    assert m and d
    for ident in [*m.group(1).split(), *d.group(1).split()]:
        assert f'id="{ident}"' in svg, ident
    desc = re.search(r"<desc id=\"[^\"]+\">(.*?)</desc>", svg)
    assert desc and "Heart rate: latest" in html.unescape(desc.group(1))


def test_vitals_show_the_last_full_set_first_and_flags_in_words(hospital: Hospital) -> None:
    _, text = _page_with(hospital, lambda t: 'class="abn">' in t and "vitals-last-full" in t)
    section = text[text.index('id="vitals"') : text.index('id="labs"')]
    assert section.index("vitals-last-full") < section.index("vitals-table")
    assert "Last full set:" in section
    flagged = re.findall(r'<strong class="abn">([^<]+)</strong>', section)
    assert flagged and all(re.search(r" (H|L|HH|LL|A|AA)$", f) for f in flagged), flagged
    # complete sets, not one row per reading: most rows of the synthetic hospital are full
    rows = re.findall(r"<td class=\"small\">(full|partial[^<]*)</td>", section)
    assert rows.count("full") >= len(rows) // 2


def test_labs_by_panel_with_previous_value_and_written_units(hospital: Hospital) -> None:
    _, text = _page_with(hospital, lambda t: "Complete blood count" in t)
    section = html.unescape(text[text.index('id="labs"') : text.index('id="notes"')])
    assert section.index("Complete blood count") < section.index("Basic metabolic panel")
    assert "10*3/uL" not in section and "10³/µL" in section
    assert '<td class="previous">' in section
    previous = re.findall(r'<td class="previous">(.*?)</td>', section)
    assert any("none earlier" not in p for p in previous)
    assert section.count('scope="rowgroup"') >= 2


# ---- search ------------------------------------------------------------------------------
def _patient(pid: str, family: str, given: str, mrn: str, dob: str = "1970-01-01") -> bytes:
    import orjson

    return orjson.dumps(
        {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
            "identifier": [{"system": "https://standby.example.org/fhir/sid/mrn", "value": mrn}],
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": "female",
            "birthDate": dob,
        }
    )


def test_search_ranks_exact_and_admitted_first_and_counts_honestly(hospital: Hospital) -> None:
    from standby.clinical.patients import search_patients

    admitted = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    inpatient = admitted.patients[0]
    family = inpatient.name.split(",")[0].strip()
    # many outpatients whose family name starts with the inpatient's, sorted before it
    for i in range(60):
        hospital.store.upsert(_patient(f"pre-{i}", family + "a", "Aaron", f"77{i:04d}"))
    found = search_patients(hospital.store, family[:4], now=hospital.clock.now, limit=50)
    assert found.total >= 61 and found.truncated and len(found.matches) == 50
    ids = [m.id for m in found.matches]
    assert inpatient.id in ids  # ordered before truncation: the inpatient is not cut off
    admitted_flags = [m.admitted for m in found.matches]
    assert admitted_flags == sorted(admitted_flags, reverse=True)  # admitted first
    # a whole family name ranks before the prefix matches
    exact = search_patients(hospital.store, family, now=hospital.clock.now, limit=5)
    assert exact.matches[0].name.split(",")[0].strip() == family

    r = hospital.login("physician").get("/search", params={"q": family[:4]})
    text = html.unescape(r.text)
    assert f"50 of {found.total} patients — narrow the search" in text
    assert text.count("<tr data-patient=") == 50
    one = hospital.login("physician").get("/search", params={"q": inpatient.mrn}).text
    assert "1 patient found" in one and "narrow the search" not in one


# ---- admin audit -------------------------------------------------------------------------
def test_who_looked_at_this_mrn(hospital: Hospital) -> None:
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    p, other = census.patients[0], census.patients[1]
    hospital.login("nurse").get(f"/patients/{p.id}")
    hospital.login("physician").get(f"/patients/{other.id}")
    admin = hospital.login("admin")
    r = admin.get("/admin/audit", params={"patient": p.mrn, "action": "view"})
    text = html.unescape(r.text)
    rows = re.findall(r"<tr><td class=\"nowrap\">.*?</tr>", text, re.S)
    assert len(rows) == 1 and ">nurse<" in rows[0]
    assert f'<td class="nowrap">{p.mrn}</td>' in rows[0] and p.name in rows[0]
    assert f">{p.id}<" not in rows[0]  # the MRN is shown, not the internal id
    # by name, the census lines too
    family = p.name.split(",")[0].strip()
    by_name = html.unescape(admin.get("/admin/audit", params={"patient": family}).text)
    assert p.mrn in by_name and "census" in by_name
    nobody = admin.get("/admin/audit", params={"patient": "no-such-mrn-000"}).text
    assert "No patient in Standby" in nobody and "No events match." in nobody


def test_the_audit_filter_offers_every_action_the_log_records() -> None:
    from pathlib import Path

    from standby.accounts.repository import AUDIT_ACTIONS

    src = Path(__file__).resolve().parents[2] / "src" / "standby"
    used: set[str] = set()
    for f in src.rglob("*.py"):
        text = f.read_text()
        used.update(re.findall(r"\baudit(?:_many)?\(\s*\"([a-z-]+)\"", text))
        used.update(re.findall(r"_audit\(store, at, username, \"([a-z-]+)\"", text))
        used.update(re.findall(r"AuditEvent\([^)]*?\"([a-z]+(?:-[a-z]+)*)\",\s*\n", text))
    assert {"census", "schedule", "view", "login-failed"} <= used
    assert used <= set(AUDIT_ACTIONS), used - set(AUDIT_ACTIONS)


def test_the_audit_form_lists_census_and_schedule(hospital: Hospital) -> None:
    text = hospital.login("admin").get("/admin/audit").text
    for action in ("census", "schedule", "view", "break-glass", "logout"):
        assert f'<option value="{action}"' in text
    assert '<label for="f-patient">Patient</label>' in text


# ---- OR board ----------------------------------------------------------------------------
def test_or_board_priority_in_words_with_a_legend_and_the_inpatients_bed(
    hospital: Hospital,
) -> None:
    from datetime import timedelta

    start = hospital.clock.now.date()
    days = [start + timedelta(days=i) for i in range(7)]
    day = next(
        d
        for d in days
        if any(
            c.patient and c.patient.location
            for r in clinical.or_schedule(hospital.store, d).rooms
            for c in r.cases
        )
    )
    board = clinical.or_schedule(hospital.store, day)
    text = hospital.login("scheduler").get(f"/schedules/or?day={day.isoformat()}").text
    legend = text[text.index('id="priority-legend"') :].split("</dl>")[0]
    for word in ("EMERGENT", "URGENT", "ELECTIVE"):
        assert word in legend
    cells = re.findall(r'<span class="prio prio-(\w+)">(\w+)</span>', text.split("</dl>", 1)[1])
    assert len(cells) == board.cases
    assert all(w in ("emergent", "urgent", "elective") and s == w.upper() for w, s in cells)
    for r in board.rooms:
        for c in r.cases:
            assert c.status_text in text
            assert c.status_text[0].isupper()
            if c.patient and c.patient.location:
                assert f"Inpatient: {c.patient.location}" in html.unescape(text)


# ---- unit names and dates of birth -------------------------------------------------------
def test_unit_names_say_the_alias_once(hospital: Hospital) -> None:
    from standby.clinical.census import unit_label

    assert unit_label("3W", "3W Step-Down Unit") == "3W Step-Down Unit"
    assert unit_label("4W", "4 West Medical") == "4W — 4 West Medical"
    assert unit_label("ICU", "ICU") == "ICU"
    units = clinical.units(hospital.store)
    text = html.unescape(hospital.login("nurse").get("/units").text)
    for u in units:
        if u.name.startswith(u.alias + " "):
            assert f"{u.alias} — {u.name}" not in text
    census = html.unescape(hospital.login("nurse").get(f"/units/{hospital.unit_id}").text)
    h1 = re.search(r"<h1>(.*?)</h1>", census, re.S)
    assert h1 is not None
    words = re.sub(r"<[^>]+>", "", h1.group(1)).split()
    unit = next(u for u in units if u.id == hospital.unit_id)
    assert words.count(unit.alias) == 1, words


def test_dates_of_birth_do_not_wrap(hospital: Hospital) -> None:
    from datetime import timedelta

    c = hospital.login("scheduler")
    start = hospital.clock.now.date()
    for i in range(7):
        day = (start + timedelta(days=i)).isoformat()
        for path in (f"/schedules/or?day={day}", f"/schedules/clinic?day={day}"):
            text = c.get(path).text
            for m in re.finditer(r"DOB \d{4}-\d\d-\d\d", text):
                before = text[: m.start()]
                assert before.endswith('<span class="nowrap">'), (path, text[m.start() - 60 :])


def test_a_childs_chart_is_not_held_to_adult_ranges() -> None:
    from datetime import timedelta

    from standby.fhir.summary import patient_summary
    from standby.web.routes.patient import _chart
    from support.summary_fixtures import NOW, patient, vital

    hr = [vital(f"hr{i}", "8867-4", 120, "/min", NOW - i * timedelta(hours=4)) for i in range(3)]
    child = _chart(patient_summary([patient(birth="2021-05-01"), *hr], NOW))
    adult = _chart(patient_summary([patient(), *hr], NOW))
    assert 'class="o"' in adult and 'class="n"' in adult  # 120/min: above 60–100
    assert 'class="o"' not in child and 'class="n"' not in child


def test_the_patient_headers_date_of_birth_does_not_wrap(hospital: Hospital) -> None:
    """The summary's header keeps "DOB 1957-03-02 (69 y, F)" on one line."""
    c = hospital.login("nurse")
    census = c.get(f"/units/{hospital.unit_id}").text
    pid = re.search(r'href="/patients/([^"]+)"', census).group(1)  # type: ignore[union-attr]
    text = c.get(f"/patients/{pid}").text
    m = re.search(r'<span class="nowrap">DOB <b id="patient-dob">', text)
    assert m, text[text.find("patient-dob") - 80 : text.find("patient-dob") + 40]
