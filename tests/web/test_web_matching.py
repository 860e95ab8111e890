"""The registrar's matching pages: each downtime registration beside its candidates (from
the replica and the simulated EHR over HTTP), scores and reasons; nothing decided until a
registrar sends the form; decide, change (history and audit lines kept); refused to a
nurse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from standby.accounts import repository, users
from standby.accounts.records import AuditQuery
from standby.recovery import matches
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app
from support.recovery_ehr import register, registrar_site
from support.web_site import PASSWORD, Clock, Site, csrf_of

__all__ = ["registrar_site"]


def _audit(site: Site, action: str) -> list[str]:
    return [e.detail for e in repository.search_audit(site.store, AuditQuery(action=action))]


def test_nothing_is_decided_until_the_registrar_sends_the_form(registrar_site) -> None:
    site, ids, regs = registrar_site
    c = site.login("reg.a")
    listing = c.get("/registrations")
    assert listing.status_code == 200
    assert "4 of 4 still to decide" in listing.text
    assert "SMITH, John" in listing.text and "DTED-0002" in listing.text

    smith = c.get(f"/registrations/{regs['smith']}")
    assert smith.status_code == 200
    assert f'data-candidate="{ids["smith-1"]}"' in smith.text
    assert f'data-candidate="{ids["smith-2"]}"' in smith.text
    assert " checked" not in smith.text  # ambiguous: nothing pre-selected
    assert "nothing is pre-selected" in smith.text
    assert "Data as of" in smith.text and "DTED-0002" in smith.text and "1970-01-15" in smith.text

    okafor = c.get(f"/registrations/{regs['okafor']}")
    checked = re.findall(r'value="([^"]+)" checked', okafor.text)
    assert checked == [ids["okafor"]]  # pre-selected, still to be confirmed
    assert "identifier: same (https://insurer.example.org/member INS-55501)" in okafor.text
    assert matches.all_decisions(site.store) == {}

    munoz = c.get(f"/registrations/{regs['munoz']}")
    assert "Muñoz" in munoz.text and "ignoring accents and case" in munoz.text
    new = c.get(f"/registrations/{regs['new']}")
    assert "No candidate found." in new.text
    assert matches.all_decisions(site.store) == {}
    assert len(_audit(site, "match-view")) == 4


def test_decide_then_change_the_decision_audited(registrar_site) -> None:
    site, ids, regs = registrar_site
    c = site.login("reg.a")
    url = f"/registrations/{regs['smith']}"
    page = c.get(url)
    r = c.post(
        url,
        data={
            "csrf_token": csrf_of(page.text),
            "choice": ids["smith-2"],
            "reason": "address matches 99 Lake Drive",
        },
    )
    assert r.status_code == 303, r.text
    d = matches.decision(site.store, regs["smith"])
    assert d is not None and d.ehr_patient_id == ids["smith-2"] and d.by == "reg.a"

    site.clock.advance(minutes=10)
    page = c.get(url)
    assert f"same as EHR Patient/{ids['smith-2']}" in page.text
    assert re.findall(r'value="([^"]+)" checked', page.text) == [ids["smith-2"]]
    r = c.post(
        url,
        data={
            "csrf_token": csrf_of(page.text),
            "choice": "new",
            "reason": "patient says never here before",
        },
    )
    assert r.status_code == 303
    assert matches.all_decisions(site.store) == {regs["smith"]: None}
    shown = c.get(url + "?saved=1").text
    assert "Decision saved." in shown and shown.count("reg.a decided") == 1
    assert "reg.a changed: create a new patient" in shown
    details = _audit(site, "match-decision")
    assert len(details) == 2
    assert (
        f"same as EHR Patient/{ids['smith-2']}" in details[0]
        or f"same as EHR Patient/{ids['smith-2']}" in details[1]
    )
    assert any("create a new patient" in x for x in details)


def test_a_decision_needs_a_reason_and_a_shown_candidate(registrar_site) -> None:
    site, ids, regs = registrar_site
    c = site.login("reg.a")
    url = f"/registrations/{regs['okafor']}"
    token = csrf_of(c.get(url).text)
    r = c.post(url, data={"csrf_token": token, "choice": ids["okafor"], "reason": ""})
    assert r.status_code == 400 and "reason" in r.text
    r = c.post(url, data={"csrf_token": token, "reason": "same card"})
    assert r.status_code == 400
    r = c.post(url, data={"csrf_token": token, "choice": ids["stranger"], "reason": "typed an id"})
    assert r.status_code == 400 and "not one of the candidates" in r.text
    assert matches.all_decisions(site.store) == {}


def test_a_frozen_decision_cannot_be_changed(registrar_site) -> None:
    site, ids, regs = registrar_site
    matches.decide(
        site.store,
        regs["okafor"],
        ehr_patient_id=ids["okafor"],
        by="reg.a",
        reason="same card",
        now=site.clock.now,
    )
    matches.freeze(site.store, regs["okafor"], by="backentry", now=site.clock.now)
    c = site.login("reg.a")
    url = f"/registrations/{regs['okafor']}"
    page = c.get(url)
    assert "can no longer be changed" in page.text and "Change the decision" not in page.text
    r = c.post(
        url, data={"csrf_token": csrf_of(page.text), "choice": "new", "reason": "changed my mind"}
    )
    assert r.status_code == 409
    d = matches.decision(site.store, regs["okafor"])
    assert d is not None and d.ehr_patient_id == ids["okafor"]


def test_a_nurse_is_refused(registrar_site) -> None:
    site, _ids, regs = registrar_site
    c = site.login("nurse.a")
    assert c.get("/registrations").status_code == 403
    r = c.get(f"/registrations/{regs['smith']}")
    assert r.status_code == 403 and "SMITH" not in r.text
    token = csrf_of(c.get("/").text) if 'name="csrf_token"' in c.get("/").text else ""
    r = c.post(
        f"/registrations/{regs['smith']}",
        data={"csrf_token": token, "choice": "new", "reason": "not allowed"},
    )
    assert r.status_code == 403
    assert matches.all_decisions(site.store) == {}


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, "no EHR is configured"),
        (
            {"source_url": "http://127.0.0.1:9", "auth": "bearer"},
            "the EHR&#39;s authentication is not usable",
        ),
    ],
)
def test_when_the_ehr_is_not_searched_the_page_says_so(
    tmp_path: Path, settings: dict[str, str], said: str
) -> None:
    store = open_store(db=tmp_path / "web.db")
    store.update(
        {
            "resourceType": "Patient",
            "id": "r1",
            "name": [{"family": "Smith", "given": ["John"]}],
            "gender": "male",
            "birthDate": "1970-01-15",
        }
    )
    regs = register(store)
    app = create_app(Settings(db=tmp_path / "web.db", **settings), store, clock=Clock())
    users.add_user(store, "reg.a", PASSWORD, role="registrar", units=[])
    site = Site(app, store, Clock(), Settings(db=tmp_path / "web.db"))
    page = site.login("reg.a").get(f"/registrations/{regs['smith'].id}")
    assert page.status_code == 200
    note = page.text.split('id="ehr-problem">', 1)[1].split("</strong>", 1)[0]
    assert said in note and "only the replica was searched" in note
    assert 'data-candidate="r1"' in page.text
    store.close()
