"""`fhir_source`: the same data served by the simulated EHR and by the second server, each
behind the same fault proxy, so one sync test runs against both.

* `hospital_dir` (session): a small synthetic hospital (`standby.sim.generate`), one NDJSON
  file per type; `examples_dir` (session): the clinical examples of FHIR R4 4.0.1.
* `fhir_source` (per test, parametrized "sim" and "second"): a fresh server over the
  hospital. `.base_url` is the proxy's (what the sync is pointed at), `.admin` changes data
  on the server directly (never faulted), `.proxy` injects faults and rewrites pages.
* `source_over(kind, data_dir)` starts either over any NDJSON folder.

The "second" parameter carries the marker `second_server`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from standby.sim.generate import generate_hospital
from standby.sim.server import load_store, run_in_thread
from support.fhir_examples import TGZ as EXAMPLES_TGZ
from support.fhir_examples import clinical_examples
from support.second_server.fault_proxy import FaultProxy
from support.second_server.medplum import ROOT, FhirAdmin, SecondServer

HOSPITAL_BEDS = 2  # 202 patients, 25 encounters
# Most resources of one type kept from the hospital: Medplum's MemoryRepository evaluates
# FHIRPath over every resource of a type for each search, ~3 ms per resource and patient.
PER_TYPE = 250
SOURCES = ["sim", pytest.param("second", marks=pytest.mark.second_server)]


@dataclass
class FhirSource:
    kind: str  # "sim" or "second"
    base_url: str  # through the fault proxy: what the sync is pointed at
    admin: FhirAdmin  # the server itself
    proxy: FaultProxy


@contextmanager
def source_over(kind: str, data_dir: Path, work: Path) -> Iterator[FhirSource]:
    """A fresh server of `kind` over the NDJSON files of `data_dir` (`work`: a scratch
    folder of this test), behind a fault proxy."""
    files = sorted(data_dir.glob("*.ndjson"))
    with _server(kind, files, work) as direct:
        proxy = FaultProxy(direct).start()
        admin = FhirAdmin(direct)
        try:
            yield FhirSource(kind, proxy.base_url, admin, proxy)
        finally:
            admin.close()
            proxy.stop()


@contextmanager
def _server(kind: str, files: list[Path], work: Path) -> Iterator[str]:
    if kind == "second":
        with SecondServer(files) as server:
            yield server.base_url
        return
    if kind != "sim":
        raise ValueError(f"unknown FHIR source {kind!r}")
    ehr = work / "sim-ehr"
    ehr.mkdir()
    for f in files:
        shutil.copy(f, ehr / f.name)
    store = load_store(ehr)
    _, handle = run_in_thread(store)
    try:
        yield handle.admin_url
    finally:
        handle.stop()
        store.close()


@pytest.fixture(scope="session")
def hospital_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hospital")
    generate_hospital(HOSPITAL_BEDS, 1, out)
    for path in out.glob("*.ndjson"):
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[:PER_TYPE]))
    return out


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clinical examples of FHIR R4 (one per type and id), one NDJSON file per type."""
    if not EXAMPLES_TGZ.exists():
        pytest.fail(f"{EXAMPLES_TGZ} is missing: run `make {EXAMPLES_TGZ.relative_to(ROOT)}`")
    out = tmp_path_factory.mktemp("r4-examples")
    by_type: dict[str, list[bytes]] = {}
    for _name, raw in clinical_examples():
        res: Any = json.loads(raw)
        by_type.setdefault(res["resourceType"], []).append(compact_json(raw))
    for rtype, lines in by_type.items():
        (out / f"{rtype}.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    return out


def compact_json(raw: bytes) -> bytes:
    """The JSON text without the whitespace between tokens (decimals and strings as written):
    the examples are pretty-printed, and a server may answer a read with the text it was
    given but a search with compact JSON."""
    out: list[str] = []
    in_string = escaped = False
    for ch in raw.decode("utf-8"):
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out).encode("utf-8")


@pytest.fixture(params=SOURCES)
def fhir_source(
    request: pytest.FixtureRequest, hospital_dir: Path, tmp_path: Path
) -> Iterator[FhirSource]:
    with source_over(request.param, hospital_dir, tmp_path) as source:
        yield source
