"""In Debian's Chromium, the whole back-entry journey on `standby demo` (run as a new user
would, in its own folder and on free ports): the EHR is cut; a nurse records vital signs
and a dose; the registrar registers a new patient and one the EHR already holds; the EHR
comes back; the incident commander confirms the end; the registrar decides both matches;
health information staff press "File the downtime's documentation into the EHR now" and
read the reconciliation report. The EHR then holds each entry's resources exactly once
(searched by identifier). Screenshots: /tmp/shots/backentry/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from standby.accounts.users import DEMO_PASSWORD
from standby.settings import load_settings
from support.web_browser import chromium, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots/backentry")
WINDOW = {"width": 1280, "height": 900}
STANDBY = str(Path(sys.executable).parent / "standby")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@dataclass
class Demo:
    directory: Path
    base: str
    env: dict[str, str]
    log: Path

    def hinted_recover_run(self) -> subprocess.CompletedProcess[str]:
        """`standby recover run` as the demo's welcome prints it, run in a shell."""
        lines = self.log.read_text().splitlines()
        at = next(i for i, ln in enumerate(lines) if "Or in a terminal" in ln)
        command = lines[at + 1].strip()
        assert " recover run " in command, command
        return subprocess.run(
            ["bash", "-c", command],
            env=self.env,
            cwd=self.directory.parent,
            capture_output=True,
            text=True,
            check=False,
        )

    def outage(self, state: str) -> None:
        subprocess.run(
            [STANDBY, "demo", "outage", state, "--dir", str(self.directory)],
            env=self.env,
            check=True,
            capture_output=True,
        )


def _until(what: str, ok: Any, seconds: float = 120) -> None:
    """Wait for `ok()` (a deadline against hanging, not a timed assertion)."""
    deadline = time.monotonic() + seconds
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.5)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port, ehr_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STANDBY_")} | {
        "STANDBY_MONITOR_INTERVAL_SECONDS": "1",
        "STANDBY_MONITOR_TIMEOUT_SECONDS": "1",
        "STANDBY_MONITOR_FAILURES_TO_DECLARE": "2",
        "STANDBY_MONITOR_HEALTHY_TO_PROPOSE_RECOVERY": "2",
        "STANDBY_SYNC_INTERVAL_SECONDS": "2",
    }
    directory = tmp_path / "demo"
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [STANDBY, "demo", "--dir", str(directory), "--beds", "12", "--port", str(port),
         "--ehr-port", str(ehr_port), "--change-rate", "0"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "demo.log").read_text()
        try:
            return httpx.get(f"{base}/status", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _until("the demo to serve", up, 300)
        yield Demo(directory, base, env, tmp_path / "demo.log")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _state(base: str) -> str:
    return str(httpx.get(f"{base}/status.json", timeout=5).json().get("state"))


def _ehr_patient(directory: Path) -> dict[str, Any]:
    """A patient the simulated EHR holds (the registrar will meet them again)."""
    for line in (directory / "ehr" / "Patient.ndjson").read_text().splitlines():
        p = json.loads(line)
        if p.get("birthDate") and p.get("name"):
            return dict(p)
    raise AssertionError("the demo's hospital has no patient with a name and a birth date")


def _ehr_client(d: Demo) -> Any:
    from standby.sync.http import FhirClient
    from standby.sync.runner import settings_auth

    info = json.loads((d.directory / "demo.json").read_text())
    s = load_settings(
        source_url=info["ehr"],
        auth="smart-backend",
        client_id="standby-demo",
        private_key=d.directory / "standby-client.pem",
    )
    return FhirClient(info["ehr"], auth=settings_auth(s))


def log_in(page: Any, base: str, username: str) -> None:
    """Log in as the demo's welcome says (its password for every demo user)."""
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _register(
    page: Any, base: str, family: str, given: str, born: str, sex: str, address: str = ""
) -> None:
    """Register a patient arriving in the emergency department."""
    page.goto(f"{base}/register")
    page.get_by_label("Family name").fill(family)
    page.get_by_label("Given name(s)").fill(given)
    page.get_by_label("Date of birth").fill(born)
    page.get_by_label(sex, exact=True).check()
    page.get_by_label("Address", exact=True).fill(address)
    page.get_by_label("Emergency department").check()
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"{base}/register/journal-*")


def test_the_downtime_is_filed_into_the_ehr_from_the_reconciliation_page(demo: Demo) -> None:
    base = demo.base
    known = _ehr_patient(demo.directory)
    demo.outage("on")
    _until("the monitor to declare downtime", lambda: _state(base) == "downtime")
    with chromium() as browser:
        page = browser.new_page(viewport=WINDOW)
        log_in(page, base, "nurse")
        row = page.locator("tr[data-patient]").first
        patient_id = row.get_attribute("data-patient")
        page.goto(f"{base}/patients/{patient_id}")
        mrn = page.locator("#patient-mrn").inner_text()
        page.goto(f"{base}/patients/{patient_id}/document")
        page.get_by_role("link", name="Vital signs").click()
        page.get_by_label("Heart rate (/min)").fill("88")
        page.get_by_label("Systolic BP (mmHg)").fill("124")
        page.get_by_label("Diastolic BP (mmHg)").fill("76")
        page.get_by_role("button", name="Save vital signs").click()
        page.wait_for_url(f"{base}/patients/{patient_id}/document?saved=*")
        page.get_by_role("link", name="Medication given, held or refused").click()
        page.locator('input[name="order"]').first.check()
        page.get_by_role("button", name="Next").click()
        page.get_by_label("Patient's MRN from the wristband (scan or type)").fill(mrn)
        page.get_by_role("button", name="Save").click()
        if page.locator("#dose-warnings").count():
            page.locator("#acknowledged").check()
            page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{base}/patients/{patient_id}/document?saved=*")
        assert page.locator("#journal-entries tbody tr").count() == 2
        _shot(page, "1-nurse-documented")

        page.context.clear_cookies()
        log_in(page, base, "registrar")
        _register(page, base, "Okafor", "Chidi", "1961-07-14", "Male")
        name = known["name"][0]
        sex = "Female" if known.get("gender") == "female" else "Male"
        address = (known.get("address") or [{}])[0]
        _register(
            page,
            base,
            name["family"],
            " ".join(name.get("given", [])),
            known["birthDate"],
            sex,
            ", ".join([*address.get("line", []), address.get("city", "")]).strip(", "),
        )
        _shot(page, "2-registrar-registered")

        page.context.clear_cookies()
        page.goto(f"{base}/status")
        demo.outage("off")
        _until("the monitor to propose recovery", lambda: _state(base) == "recovering")
        log_in(page, base, "him")
        page.goto(f"{base}/review/reconciliation")
        assert "the downtime is not over" in page.locator("#file-refusal").inner_text()
        assert page.locator("#file-now-button").count() == 0
        _shot(page, "3-him-before-the-end")

        page.context.clear_cookies()
        log_in(page, base, "commander")
        page.goto(f"{base}/monitor")
        page.get_by_role("link", name="Open the incident").click()
        page.locator("#confirm-end").click()
        if page.locator("#confirm-end-anyway").count():
            page.locator("#confirm-end-anyway").click()
        _until("the end of the downtime", lambda: _state(base) == "normal", 30)

        page.context.clear_cookies()
        log_in(page, base, "registrar")
        page.goto(f"{base}/registrations")
        _shot(page, "4-registrar-matches")
        page.get_by_role(
            "link", name=f"{name['family'].upper()}, {' '.join(name['given'])}"
        ).click()
        page.locator(f"input[name=choice][value='{known['id']}']").check()
        page.get_by_label("Why").fill("Same name, date of birth and address as the EHR's record")
        _shot(page, "5-registrar-match-known")
        page.get_by_role("button", name="Save the decision").click()
        page.wait_for_url("**saved=1")
        page.goto(f"{base}/registrations")
        page.get_by_role("link", name="OKAFOR, Chidi").click()
        page.locator("input[name=choice][value='new']").check()
        page.get_by_label("Why").fill("No record of this patient in the EHR; asked the patient")
        page.get_by_role("button", name="Save the decision").click()
        page.wait_for_url("**saved=1")

        page.context.clear_cookies()
        log_in(page, base, "him")
        page.goto(f"{base}/review/reconciliation")
        _shot(page, "6-him-before-filing")
        page.locator("#file-now-button").click()
        page.wait_for_url(f"{base}/review/reconciliation?started=1")
        _shot(page, "7-him-running")

        def finished() -> bool:
            page.goto(f"{base}/review/reconciliation")
            return "finished" in page.locator("#backentry-state").inner_text()

        _until("back-entry to finish", finished)
        assert (
            page.locator("#statement")
            .inner_text()
            .startswith("Every entry documented during this downtime is in the EHR")
        ), page.locator("#statement").inner_text()
        assert "4 confirmed" in page.locator("#backentry-state").inner_text()
        _shot(page, "8-him-reconciliation")
        assert page.locator("#file-now-button").count() == 0
        assert page.locator("#file-nothing").inner_text() == "Nothing is left to file."

    # the command the demo's welcome prints finds the demo's EHR and credentials, and
    # sends nothing twice
    again = demo.hinted_recover_run()
    assert again.returncode == 0, again.stderr
    assert ": 0 confirmed, 0 conflict, 0 rejected, 0 held" in again.stdout, again.stdout

    from standby.cli.replica import open_replica
    from standby.recovery import state

    replica = open_replica(
        load_settings(
            db=demo.directory / "standby.db",
            db_encryption="on",
            db_key_file=demo.directory / "standby.key",
        )
    )
    try:
        filed = [state.get(replica, i) for i in sorted(state.ids_in(replica, "confirmed"))]
    finally:
        replica.close()
    kinds = sorted(b.kind for b in filed if b is not None)
    assert len(kinds) == 4, kinds
    with _ehr_client(demo) as ehr:
        for b in filed:
            assert b is not None
            for w in b.written:
                if w.resource_type == "Provenance":
                    continue
                found = ehr.get_json(
                    w.resource_type, params={"identifier": f"urn:ietf:rfc:3986|{w.identifier}"}
                )
                assert len(found.get("entry") or []) == 1, (b.kind, w)
        linked = ehr.get_json("Encounter", params={"subject": f"Patient/{known['id']}"})
        assert linked.get("entry"), "the known patient's downtime encounter is filed under them"
