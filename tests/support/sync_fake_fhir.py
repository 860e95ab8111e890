"""An in-memory FHIR server over a generated hospital, for the sync's crash tests while the
simulated EHR (standby.sim.server) is being built: search (`_id`, `patient`, `status`,
`date`, `_lastUpdated`, `_count` with `next` links), Bulk `$export`, and `mutate(n)`, which
changes census patients' resources as a busy EHR would. Served by uvicorn over a socket."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def now_instant() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _bare(value: str) -> str:
    """`Patient/a,b` → `a,b`: both forms of a reference are matched (search.html#reference)."""
    return ",".join(v.removeprefix("Patient/") for v in value.split(","))


def patient_of(r: dict[str, Any]) -> set[str]:
    if r["resourceType"] == "Patient":
        return {r["id"]}
    out: set[str] = set()
    for key in ("subject", "patient"):
        ref = (r.get(key) or {}).get("reference", "")
        if ref.startswith("Patient/"):
            out.add(ref[8:])
    for p in r.get("participant") or []:
        ref = ((p or {}).get("actor") or {}).get("reference", "")
        if ref.startswith("Patient/"):
            out.add(ref[8:])
    return out


class FakeFhir:
    def __init__(self, data: Path, seed: int = 1) -> None:
        self.lock = threading.Lock()
        self.res: dict[tuple[str, str], dict[str, Any]] = {}
        self.by_type: dict[str, dict[str, dict[str, Any]]] = {}
        self.by_patient: dict[tuple[str, str], set[str]] = {}  # (type, patient) → ids
        stamp = "2026-11-28T09:00:00.000Z"  # loaded long before the test starts
        for f in sorted(data.glob("*.ndjson")):
            for line in f.read_bytes().splitlines():
                if line.strip():
                    r = orjson.loads(line)
                    r["meta"] = {"versionId": "1", "lastUpdated": stamp}
                    self._put(r)
        self.rng = random.Random(seed)
        self.exports: dict[str, dict[str, bytes]] = {}
        self.base = ""
        self.changes = 0
        self._census: tuple[list[str], list[tuple[str, str]]] | None = None

    def _put(self, r: dict[str, Any]) -> None:
        self.res[(r["resourceType"], r["id"])] = r
        self.by_type.setdefault(r["resourceType"], {})[r["id"]] = r
        for p in patient_of(r):
            self.by_patient.setdefault((r["resourceType"], p), set()).add(r["id"])

    # ---- changes ---------------------------------------------------------------------------
    def census_patients(self) -> list[str]:
        return sorted(
            {
                p
                for (t, _), r in self.res.items()
                if t == "Encounter"
                and r.get("status") == "in-progress"
                and (r.get("class") or {}).get("code") in ("IMP", "EMER")
                for p in patient_of(r)
            }
        )

    def mutate(self, n: int) -> None:
        with self.lock:
            if self._census is None:
                patients = self.census_patients()
                obs = [
                    ("Observation", i)
                    for p in patients
                    for i in sorted(self.by_patient.get(("Observation", p), ()))
                ]
                self._census = (patients, obs)
            patients, obs = self._census
            for _ in range(n):
                self.changes += 1
                if obs and self.rng.random() < 0.5:
                    r = self.res[self.rng.choice(obs)]
                    r["meta"] = {
                        "versionId": str(int(r["meta"]["versionId"]) + 1),
                        "lastUpdated": now_instant(),
                    }
                    r["note"] = [{"text": f"amended {self.changes}"}]
                else:
                    pid = self.rng.choice(patients)
                    rid = f"fake-obs-{self.changes}"
                    self._put(
                        {
                            "resourceType": "Observation",
                            "id": rid,
                            "meta": {"versionId": "1", "lastUpdated": now_instant()},
                            "status": "final",
                            "code": {"text": "Heart rate"},
                            "subject": {"reference": f"Patient/{pid}"},
                            "valueQuantity": {"value": 72.50, "unit": "/min"},
                        }
                    )

    # ---- search ----------------------------------------------------------------------------
    def _match(self, r: dict[str, Any], params: list[tuple[str, str]]) -> bool:
        for k, v in params:
            if k == "_id" and r["id"] not in v.split(","):
                return False
            if k == "patient" and not patient_of(r) & set(v.split(",")):
                return False
            if k == "status" and r.get("status") not in v.split(","):
                return False
            if k == "_lastUpdated" and v.startswith("gt") and not r["meta"]["lastUpdated"] > v[2:]:
                return False
            if k == "date":
                start = r.get("start") or ""
                if (v.startswith("ge") and start < v[2:]) or (v.startswith("le") and start > v[2:]):
                    return False
        return True

    def app(self) -> Starlette:
        async def search(request: Request) -> Response:
            rtype = request.path_params["rtype"]
            params = [
                (k, _bare(v) if k == "patient" else v)
                for k, v in request.query_params.multi_items()
            ]
            count = int(dict(params).get("_count", "50"))
            offset = int(dict(params).get("_offset", "0"))
            filters = [(k, v) for k, v in params if k not in ("_count", "_offset")]
            with self.lock:
                pool = self.by_type.get(rtype, {})
                keys = dict(filters)
                if "patient" in keys:
                    ids = set().union(
                        *(
                            self.by_patient.get((rtype, p), set())
                            for p in keys["patient"].split(",")
                        )
                    )
                    candidates = [pool[i] for i in sorted(ids)]
                elif "_id" in keys:
                    candidates = [pool[i] for i in keys["_id"].split(",") if i in pool]
                else:
                    candidates = list(pool.values())
                hits = [r for r in candidates if self._match(r, filters)]
                page = [orjson.loads(orjson.dumps(r)) for r in hits[offset : offset + count]]
            body: dict[str, Any] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(hits),
                "entry": [{"resource": r, "search": {"mode": "match"}} for r in page],
            }
            if offset + count < len(hits):
                q = urlencode([*filters, ("_count", str(count)), ("_offset", str(offset + count))])
                body["link"] = [{"relation": "next", "url": f"{self.base}/{rtype}?{q}"}]
            return Response(orjson.dumps(body), media_type="application/fhir+json")

        async def kickoff(request: Request) -> Response:
            with self.lock:
                files: dict[str, list[bytes]] = {}
                for (t, _), r in self.res.items():
                    files.setdefault(t, []).append(orjson.dumps(r))
                job = str(len(self.exports) + 1)
                self.exports[job] = {t: b"\n".join(v) + b"\n" for t, v in files.items()}
                self.exports[job]["_time"] = now_instant().encode()
            return Response(status_code=202, headers={"Content-Location": f"{self.base}/job/{job}"})

        async def status(request: Request) -> Response:
            job = request.path_params["job"]
            if job not in self.exports:
                return Response(status_code=404)
            if request.method == "DELETE":
                del self.exports[job]
                return Response(status_code=202)
            files = self.exports[job]
            return JSONResponse(
                {
                    "transactionTime": files["_time"].decode(),
                    "request": f"{self.base}/$export",
                    "requiresAccessToken": False,
                    "output": [
                        {"type": t, "url": f"{self.base}/file/{job}/{t}"}
                        for t in files
                        if t != "_time"
                    ],
                    "error": [],
                }
            )

        async def file(request: Request) -> Response:
            job, t = request.path_params["job"], request.path_params["t"]
            if job not in self.exports:
                return Response(status_code=404)
            return Response(self.exports[job][t], media_type="application/fhir+ndjson")

        return Starlette(
            routes=[
                Route("/fhir/$export", kickoff),
                Route("/fhir/job/{job}", status, methods=["GET", "DELETE"]),
                Route("/fhir/file/{job}/{t}", file),
                Route("/fhir/{rtype}", search),
            ]
        )
