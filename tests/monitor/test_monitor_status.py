"""current_status(store): what the banner shows."""

from __future__ import annotations

from typing import Any

from standby.monitor.status import current_status


def test_status_of_a_fresh_database_is_normal(store: Any) -> None:
    s = current_status(store)
    assert s.state == "normal"
    assert not s.in_downtime and not s.drill
    assert s.incident_id is None and s.what_to_do == ""
    assert s.label == "NORMAL"
