"""`GET /Patient/{id}/$summary`: the patient's downtime summary as an International Patient
Summary document (https://hl7.org/fhir/uv/ips/OperationDefinition-summary.html).

The summary is the viewer's (`standby.clinical.summary.build_summary`, with what was
documented in Standby's journal during the downtime); `standby.fhir.ips` renders it as a
document Bundle. Sections are built from the whole record, so a client must read and
search (`r` and `s`: the sections list what it holds) every type a summary is made of
(the types of the compartment it shows), else 403: a summary with parts silently left
out would read as "none". Audited like a read of the patient.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from standby.api import access
from standby.api.responses import api, base_url, fhir_response, tag_as_of
from standby.clinical.summary import build_summary
from standby.clock import instant
from standby.fhir.ips import ips_document
from standby.fhir.outcomes import FhirError

#: The types a summary is read from: a client reads them all, or gets no summary.
SUMMARY_TYPES = (
    "Patient",
    "AllergyIntolerance",
    "Condition",
    "MedicationRequest",
    "Medication",
    "Observation",
    "CarePlan",
    "ServiceRequest",
)


async def summary(request: Request) -> Response:
    pid = request.path_params["id"]
    for t in SUMMARY_TYPES:  # its sections list what the record holds: read and search
        access.require(request, t, "r")
        access.require(request, t, "s")
    ctx = api(request)
    now = ctx.clock()
    read = await run_in_threadpool(lambda: build_summary(ctx.store, pid, now, keep_resources=True))
    if read is None:
        raise FhirError("not-found", f"Patient/{pid} is not in the replica")
    as_of = ctx.as_of()
    doc = ips_document(
        read.summary, read.resources or {}, base=base_url(request), now=instant(now),
        data_as_of=as_of,
    )  # fmt: skip
    profile = doc["meta"]["profile"]
    tag_as_of(doc, as_of)["meta"]["profile"] = profile
    await run_in_threadpool(
        access.record, request, [{"resourceType": "Patient", "id": pid}], f"$summary Patient/{pid}"
    )
    return fhir_response(request, doc)
