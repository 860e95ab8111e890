"""The second FHIR server (server.mjs: Medplum's FhirRouter + MemoryRepository) as a child
process on a free port, and `FhirAdmin`, plain FHIR over HTTP to change a server's data
during a test (PUT, DELETE) and to read back exactly what it serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("server.mjs")
MODULES = ROOT / ".cache" / "medplum" / "node_modules"
MEDPLUM = MODULES / "@medplum" / "fhir-router" / "package.json"
MAKE_TARGET = MEDPLUM.relative_to(ROOT)
START_TIMEOUT_S = 60


def require_medplum() -> None:
    """Fail (not skip) with the command that fetches the packages: CI must run these tests."""
    if not MEDPLUM.exists():
        pytest.fail(f"{MEDPLUM} is missing: run `make {MAKE_TARGET}` (or `make test`)")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the second FHIR server needs Node.js 20 or later")


class SecondServer:
    """`node server.mjs --load ...`; `base_url` ends in /fhir/R4. Use as a context manager."""

    def __init__(self, load: Iterable[Path] = ()) -> None:
        self.load = list(load)
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop)

    def start(self) -> SecondServer:
        require_medplum()
        cmd = ["node", str(SCRIPT), "--modules", str(MODULES), "--port", "0"]
        for path in self.load:
            cmd += ["--load", str(path)]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=os.environ.copy()
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_S)
        if not line or not line[0].startswith("listening "):
            self.stop()
            raise RuntimeError(f"the second FHIR server did not start: {self.stderr()[-2000:]}")
        self.base_url = line[0].split(" ", 1)[1].strip()
        return self

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> SecondServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FhirAdmin:
    """Plain FHIR REST against a server's own (never faulted) base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(timeout=30, headers={"accept": "application/fhir+json"})

    def put(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Create or update by id (FHIR update); the resource as the server stored it."""
        url = f"{self.base_url}/{resource['resourceType']}/{resource['id']}"
        r = self.http.put(
            url, content=json.dumps(resource), headers={"content-type": "application/fhir+json"}
        )
        r.raise_for_status()
        return r.json()

    def delete(self, rtype: str, id: str) -> None:
        self.http.delete(f"{self.base_url}/{rtype}/{id}").raise_for_status()

    def read(self, rtype: str, id: str) -> dict[str, Any] | None:
        r = self.http.get(f"{self.base_url}/{rtype}/{id}")
        if r.status_code in (404, 410):
            return None
        r.raise_for_status()
        return r.json()

    def read_text(self, rtype: str, id: str) -> str | None:
        """The exact text the server sends for a read."""
        r = self.http.get(f"{self.base_url}/{rtype}/{id}")
        if r.status_code in (404, 410):
            return None
        r.raise_for_status()
        return r.text

    def search(self, rtype: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every resource a type-wide search returns, following `next` links (decimals as
        `Decimal`, as written)."""
        url: str | None = f"{self.base_url}/{rtype}"
        query: dict[str, str] | None = {"_count": "500", **params}
        while url:
            r = self.http.get(url, params=query)
            r.raise_for_status()
            bundle = json.loads(r.text, parse_float=Decimal)
            for entry in bundle.get("entry") or []:
                if entry.get("search", {}).get("mode", "match") == "match":
                    yield entry["resource"]
            url = next(
                (x["url"] for x in bundle.get("link") or [] if x["relation"] == "next"), None
            )
            query = None

    def ids(self, rtype: str) -> set[str]:
        return {r["id"] for r in self.search(rtype)}

    def close(self) -> None:
        self.http.close()
