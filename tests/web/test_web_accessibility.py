"""axe-core over every page of the viewer, in Chromium, in each state the header and the
banner can be in (normal, amber, red, downtime), at 100% and 200% browser zoom: any
violation fails (docs/web.md#accessibility-and-printing).

axe-core comes from npm; `make test` installs it into .cache/node_modules (`make demo`
does not need it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from standby import clinical
from standby.monitor import downtime
from standby.monitor.config import MonitorConfig
from standby.sync.status import data_as_of
from support.web_browser import (
    axe_source,
    axe_violations,
    chromium,
    log_in,
    served,
    shot,
    zoomed,
)
from support.web_site import Hospital

pytestmark = pytest.mark.browser

STATES = ["normal", "amber", "red", "downtime"]


LEVEL = {"normal": "fresh", "amber": "amber", "red": "red", "downtime": "fresh"}
AGE = {"normal": 30, "amber": 300, "red": 3600, "downtime": 30}  # seconds since data as of


def put_in_state(hospital: Hospital, state: str) -> None:
    """The clock `AGE[state]` seconds after "data as of" (fresh, amber, red), a past
    incident (so that its page exists), and for "downtime" a declared downtime."""
    as_of = data_as_of(hospital.store)
    assert as_of is not None
    hospital.clock.now = as_of + timedelta(seconds=AGE[state])
    cfg = MonitorConfig()
    past = hospital.clock.now - timedelta(hours=3)
    downtime.declare(hospital.store, cfg, "ic", past, reason="network work", message="Use paper")
    downtime.confirm_end(hospital.store, cfg, "ic", past + timedelta(minutes=40), message="Over")
    if state == "downtime":
        downtime.declare(
            hospital.store,
            cfg,
            "ic",
            hospital.clock.now,
            reason="EHR unreachable",
            message="Use the downtime forms; printer 3 has the packets",
        )


def pages_by_user(hospital: Hospital) -> dict[str | None, list[str]]:
    """Every page of the viewer, under the user who may open it (None: no login)."""
    from standby.monitor import incidents

    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    other = clinical.unit_census(hospital.store, hospital.other_unit_id, hospital.clock.now)
    patient, outsider = census.patients[0], other.patients[0]
    family = patient.name.split(",")[0].strip()
    incident = incidents.recent(hospital.store)[0].id
    summaries = [f"/patients/{p.id}" for p in census.patients[:3]]
    return {
        None: ["/login", "/status"],
        "nurse": [
            f"/units/{hospital.unit_id}",
            *summaries,  # summary, MAR, vitals, labs, notes, orders: sections of one page
            f"/search?q={family[:4]}",
            "/search",
            "/schedules/or",
            f"/patients/{outsider.id}/break-glass",
            "/patients/no-such-patient",  # the error page: not found
            "/admin/audit",  # the error page: not allowed
        ],
        "physician": ["/schedules/clinic"],
        "ic": ["/units", "/monitor", f"/monitor/incidents/{incident}"],
        "admin": ["/admin/audit", "/admin/users", "/admin/break-glass"],
    }


@pytest.mark.parametrize("state", STATES)
def test_every_page_passes_axe(hospital: Hospital, state: str) -> None:
    source = axe_source()
    put_in_state(hospital, state)
    found: list[str] = []
    with served(hospital.app) as base, chromium() as browser:
        pages = pages_by_user(hospital)
        for user, paths in pages.items():
            for zoom in (100, 200):
                page = browser.new_page(bypass_csp=True, **zoomed(zoom))
                if user:
                    log_in(page, base, user)
                for path in paths:
                    page.goto(f"{base}{path}")
                    assert page.locator("#data-status").get_attribute("data-level") == LEVEL[state]
                    banner = page.locator("#downtime-banner").count()
                    assert banner == (state == "downtime"), path
                    found += [f"{path} at {zoom}%: {v}" for v in axe_violations(page, source)]
                    if path == pages["nurse"][1]:  # the first summary
                        shot(page, f"axe-{state}-summary-{zoom}", full_page=False)
                page.close()
    assert not found, "\n".join(found)
