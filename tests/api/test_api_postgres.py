"""The API over PostgreSQL: the same tests, the replica and the API's tables (clients,
assertion ids, snapshots) in the other engine."""

from __future__ import annotations

import pytest

from api import test_api_access as access
from api import test_api_reads as reads
from support.fhir_api import ApiSite

pytestmark = pytest.mark.postgres

CASES = [
    access.test_unauthenticated_requests_get_401_with_an_outcome,
    access.test_the_token_endpoint_checks_the_assertion,
    access.test_scopes_are_checked_per_resource_type,
    access.test_every_read_is_audited_with_the_client_and_the_patients,
    reads.test_read_and_vread_send_the_stored_bytes_with_the_data_as_of,
    reads.test_a_patients_vitals_newest_first_page_by_page,
    reads.test_paging_stays_stable_while_the_replica_changes,
    reads.test_include_revinclude_summary_count_and_elements,
    reads.test_history_of_a_type_and_the_system_since_an_instant,
    reads.test_everything_of_a_patient,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_on_postgres(pg_api_site: ApiSite, case: object) -> None:
    case(pg_api_site)  # type: ignore[operator]
