"""Every page of the viewer in-process, on the synthetic hospital: who can see what, the
audit trail, break the glass, allergies, empty sections, the header."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from standby import clinical
from standby.accounts import repository
from standby.accounts.records import AuditQuery
from standby.settings import zone
from standby.sync.status import SyncHealth, data_as_of
from standby.web import header, times
from support.web_site import PASSWORD, Hospital, csrf_of


def _census(h: Hospital, unit_id: str) -> Any:
    return clinical.unit_census(h.store, unit_id, h.clock.now)


def _a_patient(h: Hospital, unit_id: str | None = None) -> Any:
    return _census(h, unit_id or h.unit_id).patients[0]


def _audit(h: Hospital, **kw: Any) -> list[Any]:
    return repository.search_audit(h.store, AuditQuery(**kw))


# ---- census ----------------------------------------------------------------
def test_nurse_sees_every_bed_of_her_unit(hospital: Hospital) -> None:
    census = _census(hospital, hospital.unit_id)
    r = hospital.login("nurse").get(f"/units/{hospital.unit_id}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    text = html.unescape(r.text)
    for p in census.patients:
        assert p.name in text and p.mrn in text
    assert text.count('<tr data-patient="') == len(census.patients)
    empty = len(census.beds) - len(census.patients)
    assert text.count("Empty bed") == empty
    # one audit line per patient shown, with user, page and address
    lines = _audit(hospital, action="census")
    assert {e.patient_id for e in lines} == {p.id for p in census.patients}
    assert {(e.username, e.page, e.address) for e in lines} == {
        ("nurse", f"/units/{hospital.unit_id}", "10.0.0.1")
    }


def test_census_sorts_on_the_server(hospital: Hospital) -> None:
    r = hospital.login("nurse").get(f"/units/{hospital.unit_id}?sort=name")
    names = re.findall(r'<a href="/patients/[^"]+"><strong>(.*?)</strong>', r.text)
    names = [html.unescape(n) for n in names]
    assert names == sorted(names, key=str.casefold) and len(names) >= 2


@pytest.mark.parametrize(
    ("user", "status"), [("nurse2", 403), ("scheduler", 403), ("admin", 403), ("ic", 200)]
)
def test_census_of_a_unit_by_role(hospital: Hospital, user: str, status: int) -> None:
    assert hospital.login(user).get(f"/units/{hospital.unit_id}").status_code == status


def test_unit_list_shows_only_own_units(hospital: Hospital) -> None:
    text = hospital.login("nurse").get("/units").text
    assert f'href="/units/{hospital.unit_id}"' in text
    assert f'href="/units/{hospital.other_unit_id}"' not in text


# ---- patient summary ----------------------------------------------------------------
def test_summary_shows_two_identifiers_and_is_audited(hospital: Hospital) -> None:
    p = _a_patient(hospital)
    r = hospital.login("nurse", address="10.1.2.3").get(f"/patients/{p.id}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    header_html = r.text.split('id="patient-header"', 1)[1].split("</section>", 1)[0]
    assert html.escape(p.name) in header_html
    assert p.dob in header_html and p.mrn in header_html
    for section in (
        "Allergies",
        "Active problems",
        "Active medications",
        "Medication administration record",
        "Vital signs",
        "Laboratory results",
        "Recent notes",
        "Active orders",
        "Care plan",
        "Upcoming procedures",
    ):
        assert section in r.text
    views = _audit(hospital, action="view")
    assert [(e.username, e.patient_id, e.page, e.address) for e in views] == [
        ("nurse", p.id, f"/patients/{p.id}", "10.1.2.3")
    ]


def test_summary_by_role(hospital: Hospital) -> None:
    p = _a_patient(hospital)
    for user, status in [
        ("physician", 200),
        ("pharmacist", 200),
        ("scheduler", 403),
        ("admin", 403),
        ("ic", 403),
    ]:
        assert hospital.login(user).get(f"/patients/{p.id}").status_code == status, user


def test_unknown_patient_is_404(hospital: Hospital) -> None:
    assert hospital.login("nurse").get("/patients/no-such-id").status_code == 404


def test_break_the_glass(hospital: Hospital) -> None:
    p = _a_patient(hospital, hospital.other_unit_id)
    c = hospital.login("nurse")
    r = c.get(f"/patients/{p.id}")
    assert r.status_code == 403
    assert "outside your units" in r.text
    assert "Medication administration record" not in r.text  # no clinical data
    assert not _audit(hospital, action="view")
    token = csrf_of(r.text)
    short = c.post(f"/patients/{p.id}/break-glass", data={"reason": "x", "csrf_token": token})
    assert short.status_code == 400
    assert (
        c.post(
            f"/patients/{p.id}/break-glass",
            data={"reason": "covering 4W tonight, patient deteriorating"},
        ).status_code
        == 403
    )  # no CSRF token
    ok = c.post(
        f"/patients/{p.id}/break-glass",
        data={"reason": "Rapid response call, covering nurse", "csrf_token": token},
    )
    assert ok.status_code == 303
    r = c.get(f"/patients/{p.id}")
    assert r.status_code == 200 and "Opened by breaking the glass" in r.text
    bg = _audit(hospital, action="break-glass")
    assert [(e.username, e.patient_id, e.detail) for e in bg] == [
        ("nurse", p.id, "Rapid response call, covering nurse")
    ]
    assert _audit(hospital, action="view")[0].detail == "break-glass"
    admin_page = hospital.login("admin").get("/admin/break-glass").text
    assert "Rapid response call, covering nurse" in admin_page and p.id in admin_page
    for _ in range(3):  # 75 minutes later, the session kept alive: the access has expired
        hospital.clock.advance(minutes=25)
        c.get("/search")
    assert c.get(f"/patients/{p.id}").status_code == 403


def test_roles_without_break_glass_cannot_break_it(hospital: Hospital) -> None:
    p = _a_patient(hospital)
    c = hospital.login("scheduler")
    assert c.get(f"/patients/{p.id}/break-glass").status_code == 403


# ---- allergies and empty sections ----------------------------------------------------------------
def _patient_with(h: Hospital, status: str) -> Any:
    for u in clinical.units(h.store):
        for p in _census(h, u.id).patients:
            if p.allergies.status == status:
                return p, u.id
    return None, None


def _ensure_allergy_states(h: Hospital) -> tuple[Any, Any]:
    """A patient with "no known allergies" and one with none recorded (made if missing)."""
    import orjson

    nka, _ = _patient_with(h, "no-known-allergies")
    unknown, _ = _patient_with(h, "not-recorded")
    pts = _census(h, h.unit_id).patients
    if unknown is None:  # not the NKA patient: that one must keep its assertion
        unknown = next(p for p in pts if nka is None or p.id != nka.id)
        for sr in h.store.compartment(unknown.id, ["AllergyIntolerance"]):
            h.store.tombstone("AllergyIntolerance", sr.id, version_id="999")
    if nka is None:
        nka = next(p for p in pts if p.id != unknown.id)
        for sr in h.store.compartment(nka.id, ["AllergyIntolerance"]):
            h.store.tombstone("AllergyIntolerance", sr.id, version_id="999")
        h.store.upsert(
            orjson.dumps(
                {
                    "resourceType": "AllergyIntolerance",
                    "id": f"nka-{nka.id}",
                    "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {
                        "coding": [
                            {
                                "system": "http://snomed.info/sct",
                                "code": "716186003",
                                "display": "No known allergy",
                            }
                        ]
                    },
                    "patient": {"reference": f"Patient/{nka.id}"},
                }
            )
        )
    return nka, unknown


def test_no_known_allergies_and_not_recorded_render_differently(hospital: Hospital) -> None:
    nka, unknown = _ensure_allergy_states(hospital)
    c = _everywhere(hospital)
    a = c.get(f"/patients/{nka.id}").text
    b = c.get(f"/patients/{unknown.id}").text
    assert 'data-allergy-section="nka"' in a and "No known allergies" in a
    assert 'data-allergy-section="not-recorded"' in b and "NOT RECORDED" in b
    assert 'data-allergy-section="not-recorded"' not in a
    assert 'data-allergy-section="nka"' not in b
    # the header badge too (always visible)
    assert 'data-allergy="nka"' in a and 'data-allergy="not-recorded"' in b


def _everywhere(h: Hospital) -> Any:
    from standby.accounts import users

    users.add_user(h.store, "floater", PASSWORD, role="physician", units=["*"])
    return h.login("floater")


def test_empty_sections_say_why(hospital: Hospital) -> None:
    c = _everywhere(hospital)
    texts = []
    for p in _census(hospital, hospital.unit_id).patients:
        texts.append(c.get(f"/patients/{p.id}").text)
    joined = "\n".join(texts)
    assert 'data-empty="none-recorded"' in joined
    for t in texts:  # an empty section is never blank
        for m in re.finditer(r'<p class="empty[^"]*" data-empty="([^"]+)">([^<]*)</p>', t):
            assert m.group(2).strip()


# ---- search ----------------------------------------------------------------
def test_search_by_partial_accentless_name(hospital: Hospital) -> None:
    import unicodedata

    p = _a_patient(hospital)
    family = p.name.split(",")[0].strip()
    plain = "".join(
        ch for ch in unicodedata.normalize("NFKD", family) if not unicodedata.combining(ch)
    )
    c = hospital.login("physician")
    r = c.get("/search", params={"q": plain[:3].lower()})
    assert r.status_code == 200
    assert f'data-patient="{p.id}"' in r.text
    assert p.dob in r.text and p.mrn in r.text
    by_mrn = c.get("/search", params={"q": p.mrn})
    assert f'data-patient="{p.id}"' in by_mrn.text
    by_dob = c.get("/search", params={"dob": p.dob})
    assert f'data-patient="{p.id}"' in by_dob.text
    searches = _audit(hospital, action="search", username="physician")
    assert len(searches) == 3 and plain[:3].lower() in searches[-1].detail


def test_search_tells_two_john_smiths_apart(hospital: Hospital) -> None:
    import orjson

    for i, dob in enumerate(("1950-01-02", "1988-07-30")):
        hospital.store.upsert(
            orjson.dumps(
                {
                    "resourceType": "Patient",
                    "id": f"js-{i}",
                    "meta": {"versionId": "1", "lastUpdated": "2026-11-01T00:00:00Z"},
                    "identifier": [
                        {
                            "type": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                        "code": "MR",
                                    }
                                ]
                            },
                            "system": "https://standby.example.org/fhir/sid/mrn",
                            "value": f"99000{i}",
                        }
                    ],
                    "name": [{"use": "official", "family": "Smith", "given": ["John"]}],
                    "gender": "male",
                    "birthDate": dob,
                    "address": [{"city": ["Springfield", "Shelbyville"][i]}],
                }
            )
        )
    r = hospital.login("physician").get("/search", params={"q": "smith john"})
    rows = re.findall(r'<tr data-patient="(js-\d)">(.*?)</tr>', r.text, re.S)
    assert [pid for pid, _ in rows] == ["js-0", "js-1"]
    assert "1950-01-02" in rows[0][1] and "990000" in rows[0][1] and "Springfield" in rows[0][1]
    assert "1988-07-30" in rows[1][1] and "990001" in rows[1][1]


def test_search_by_role(hospital: Hospital) -> None:
    assert hospital.login("scheduler").get("/search?q=a").status_code == 200
    assert hospital.login("admin").get("/search?q=a").status_code == 403
    assert hospital.login("ic").get("/search?q=a").status_code == 403


# ---- schedules ----------------------------------------------------------------
def test_or_board_and_clinics(hospital: Hospital) -> None:
    start = hospital.clock.now.date()
    days = [start + timedelta(days=i) for i in range(7)]
    today = next(d for d in days if clinical.or_schedule(hospital.store, d).cases)
    board = clinical.or_schedule(hospital.store, today)
    c = hospital.login("scheduler")
    r = c.get(f"/schedules/or?day={today.isoformat()}")
    assert r.status_code == 200
    assert r.text.count("<tr>") >= board.cases
    for room in board.rooms:
        assert html.escape(room.name) in r.text
        for case in room.cases:
            if case.patient and case.patient.phones:
                assert case.patient.phones[0] in r.text
    assert c.get("/schedules/or?day=tomorrow").status_code == 200
    clinic_day = next(d for d in days if clinical.clinic_schedule(hospital.store, d).visits)
    clinic = clinical.clinic_schedule(hospital.store, clinic_day)
    r = c.get(f"/schedules/clinic?day={clinic_day.isoformat()}")
    assert r.status_code == 200
    for prov in clinic.providers:
        assert html.escape(prov.name) in r.text
    shown = {e.patient_id for e in _audit(hospital, action="schedule")}
    expected = {v.patient.id for p in clinic.providers for v in p.visits if v.patient}
    assert expected and expected <= shown
    phones = [
        v.patient.phones[0]
        for p in clinic.providers
        for v in p.visits
        if v.patient and v.patient.phones
    ]
    assert phones and all(ph in r.text for ph in phones)


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("nurse", "/schedules/or", 200),
        ("nurse", "/schedules/clinic", 403),
        ("pharmacist", "/schedules/or", 403),
        ("physician", "/schedules/clinic", 200),
        ("admin", "/schedules/or", 403),
        ("ic", "/schedules/clinic", 200),
    ],
)
def test_schedules_by_role(hospital: Hospital, user: str, path: str, status: int) -> None:
    assert hospital.login(user).get(path).status_code == status


# ---- status page and header ----------------------------------------------------------------
def test_status_page_needs_no_login_and_shows_no_patient_data(hospital: Hospital) -> None:
    r = hospital.client().get("/status")
    assert r.status_code == 200
    assert "Data as of" in r.text
    text = html.unescape(r.text)
    for u in clinical.units(hospital.store):
        for p in _census(hospital, u.id).patients:
            assert p.name not in text and p.mrn not in text and p.id not in text
    assert "/patients/" not in text


def test_the_status_page_asks_to_log_in_only_when_no_one_is(hospital: Hospital) -> None:
    """Seen as nurse3w on an edge node: /status said "Log in to see patients" under the
    logged-in nurse's own name."""
    ask = "to see patients"
    assert ask in hospital.client().get("/status").text
    assert ask not in hospital.login("nurse").get("/status").text


def _health(age_s: float, now: Any) -> SyncHealth:
    return SyncHealth(
        data_as_of=now - timedelta(seconds=age_s),
        lag_seconds=3.0,
        reachable=True,
        errors_last_hour=0,
        quarantined_last_hour=2,
    )


@pytest.mark.parametrize(("age", "level"), [(30, "fresh"), (300, "amber"), (3600, "red")])
def test_header_turns_amber_then_red(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch, age: float, level: str
) -> None:
    monkeypatch.setattr(
        header, "sync_health", lambda store, now=None: _health(age, hospital.clock.now)
    )
    for c, path in (
        (hospital.client(), "/status"),
        (hospital.login("nurse"), f"/units/{hospital.unit_id}"),
    ):
        r = c.get(path)
        assert f'data-level="{level}"' in r.text, path
        assert "Data as of" in r.text and "lag 3 s" in r.text
        assert "2 records set aside in the last hour" in r.text


def test_header_is_red_when_the_sync_status_cannot_be_read(
    hospital: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(store: Any, now: Any = None) -> SyncHealth:
        raise RuntimeError("the sync tables cannot be read")

    monkeypatch.setattr(header, "sync_health", unreadable)
    r = hospital.client().get("/status")
    assert 'data-level="red"' in r.text and "Data as of: unknown" in r.text


def test_never_synchronised_replica_is_as_of_its_newest_resource(hospital: Hospital) -> None:
    """A replica loaded from files, never synchronised: the header says what the packets
    say, the newest lastUpdated it holds (`standby.sync.status.data_as_of`)."""
    as_of = data_as_of(hospital.store)
    assert as_of is not None
    r = hospital.client().get("/status")
    assert f"Data as of {times.shown(as_of, zone(hospital.settings))}" in html.unescape(r.text)


def test_home_sends_each_role_somewhere_useful(hospital: Hospital) -> None:
    expected = {
        "nurse": f"/units/{hospital.unit_id}",
        "scheduler": "/schedules/or",
        "admin": "/admin/audit",
        "ic": "/units",
    }
    for user, target in expected.items():
        assert hospital.login(user).get("/").headers["location"] == target


# ---- printing ----------------------------------------------------------------
def test_print_this_patient_and_this_unit(hospital: Hospital) -> None:
    p = _a_patient(hospital)
    c = hospital.login("nurse")
    page = c.get(f"/patients/{p.id}").text
    assert f'href="/patients/{p.id}/print.pdf"' in page
    r = c.get(f"/patients/{p.id}/print.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["cache-control"] == "no-store"
    assert [e.patient_id for e in _audit(hospital, action="print")] == [p.id]
    r = c.get(f"/units/{hospital.unit_id}/print.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    other = _a_patient(hospital, hospital.other_unit_id)
    assert c.get(f"/patients/{other.id}/print.pdf").status_code == 403
    assert c.get(f"/units/{hospital.other_unit_id}/print.pdf").status_code == 403
    assert hospital.login("ic").get(f"/units/{hospital.unit_id}/print.pdf").status_code == 403


# ---- downtime banner (the monitor plugs into the layout) ---------------------------------
def test_downtime_banner_on_every_page(hospital: Hospital) -> None:
    from standby.monitor import downtime
    from standby.monitor.config import MonitorConfig

    p = _a_patient(hospital)
    c = hospital.login("nurse")
    assert 'id="downtime-banner"' not in c.get(f"/units/{hospital.unit_id}").text
    downtime.declare(
        hospital.store,
        MonitorConfig(),
        "ic",
        hospital.clock.now,
        reason="EHR unreachable",
        message="Use the downtime forms",
    )
    for path in (f"/units/{hospital.unit_id}", f"/patients/{p.id}", "/search", "/units"):
        r = c.get(path)
        assert 'id="downtime-banner"' in r.text, path
        assert "Use the downtime forms" in r.text
    status = hospital.client().get("/status").text
    assert "EHR DOWNTIME" in status and "Use the downtime forms" in status


def test_audit_csv_names_the_patient_by_mrn_and_name(hospital: Hospital) -> None:
    import csv
    import io

    p = _a_patient(hospital)
    assert hospital.login("nurse").get(f"/patients/{p.id}").status_code == 200
    r = hospital.login("admin").get("/admin/audit.csv?action=view")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 1
    row = rows[0]
    assert (row["patient_mrn"], row["patient_name"], row["patient_id"]) == (p.mrn, p.name, p.id)
    assert (row["username"], row["action"]) == ("nurse", "view")


def test_audit_table_is_append_only_in_the_replica(hospital: Hospital) -> None:
    p = _a_patient(hospital)
    hospital.login("nurse").get(f"/patients/{p.id}")
    with pytest.raises(Exception, match="append-only"), hospital.store.transaction() as tx:
        tx.execute("UPDATE web_audit SET username = 'someone else'")
    with pytest.raises(Exception, match="append-only"), hospital.store.transaction() as tx:
        tx.execute("DELETE FROM web_audit")
    assert [e.username for e in _audit(hospital, action="view")] == ["nurse"]
