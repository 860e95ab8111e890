"""What the pages tell the read model about a downtime: the instant up to which the EHR
can have heard of charting (`standby.fhir.mar.charting_cutoff` of the declaration, from
`standby.monitor.status.current_status`, and "data as of"), None in normal operation.

The read model may not ask the monitor itself (`clinical/` imports only `fhir` and
`store`): the MAR, the census and the printed packets get it from here, as data.
"""

from __future__ import annotations

from datetime import datetime

from standby.fhir.mar import charting_cutoff
from standby.web import header
from standby.web.context import WebContext


def charted_until(web: WebContext) -> datetime | None:
    """During a declared downtime (recovery proposed included), the earlier of its
    declaration and "data as of"; None otherwise, or when the state cannot be read."""
    status = header.downtime_status(web.store)
    if status is None or not status.in_downtime:
        return None
    since = status.since or web.clock()
    return charting_cutoff(since, web.header().data_as_of)
