"""The viewer copies the audit chain's head outside the database as it writes the audit."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from standby.accounts import audit_anchors
from standby.accounts.audit_verify import verify
from support.web_site import Site, login


def test_the_viewer_anchors_the_audit_head_beside_the_replica(mini_site: Site) -> None:
    path = Path(f"{mini_site.settings.db}.audit-anchors")
    assert not path.exists()
    admin = mini_site.login("admin.a")
    assert admin.get("/admin/audit.csv").status_code == 200  # an audited page
    [first] = audit_anchors.read(path)
    assert (first.id, first.hash) == audit_anchors.head(mini_site.store)
    assert (path.stat().st_mode & 0o777) == 0o600
    admin.get("/admin/audit.csv")  # within the interval: no new anchor
    assert len(audit_anchors.read(path)) == 1
    assert verify(mini_site.store, audit_anchors.read(path)).ok


def test_the_viewer_anchors_the_head_when_it_stops(mini_site: Site) -> None:
    path = Path(f"{mini_site.settings.db}.audit-anchors")
    with TestClient(mini_site.app, client=("10.0.0.1", 1)) as c:
        login(c, "nurse.a", "wrong password")  # written outside the group commit
    anchors = audit_anchors.read(path)
    assert anchors[-1].id == audit_anchors.head(mini_site.store)[0]
