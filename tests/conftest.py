"""Settings every test starts from.

The replica is encrypted at rest by default (docs/security.md); the suite runs with
`STANDBY_DB_ENCRYPTION=off` so that tests can open the files they make without a key. The
encrypted engine has its own tests (tests/store/test_store_encryption.py) and runs the
store contract suite (the `sqlcipher` engine of support/store_engines.py).
"""

import os

import pytest

os.environ.setdefault("STANDBY_DB_ENCRYPTION", "off")


# The tests that take minutes, longest first (measured with --durations; docs/performance.md
# "The test suite"). Under `make test` (`-n 2 --dist loadgroup`) the workers take tests one
# at a time in collection order, so these start at once, one on each worker, and the short
# tests fill in around them instead of a long test starting last and running alone.
LONGEST = (
    "tests/hl7/test_hl7_crash.py::",
    "tests/recovery/test_recovery_second_server.py::test_back_entry_into_medplum[transactions-",
    "tests/api/test_api_fhirpy.py::test_every_r4_example_comes_back_json_equal",
    "tests/recovery/test_recovery_second_server.py::test_back_entry_into_medplum[as-its-",
)


def _start_order(item: pytest.Item) -> int:
    for i, prefix in enumerate(LONGEST):
        if item.nodeid.startswith(prefix):
            return i
    if item.get_closest_marker("slow"):
        return len(LONGEST)
    if item.get_closest_marker("browser") or item.get_closest_marker("postgres"):
        return len(LONGEST) + 1
    return len(LONGEST) + 2


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist's workers only (a run without `-n` keeps the file order): the long tests
    first, the rest in their order (a stable sort keeps each module's tests together)."""
    if hasattr(config, "workerinput"):
        items.sort(key=_start_order)
