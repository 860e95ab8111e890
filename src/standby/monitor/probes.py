"""Probes: what the monitor measures, one result each, kept as a bounded time series.

Kinds (docs/monitor.md#probes):

* `fhir-metadata` — GET `[base]/metadata`, expects a CapabilityStatement
  (https://hl7.org/fhir/R4/http.html#capabilities);
* `fhir-read` — an authenticated FHIR read/search (default `Patient?_count=1`) with the
  bearer token from a token provider callable (handed in by the composition root);
* `token` — the SMART token endpoint answers (any answer below 500: an unauthenticated
  POST is refused with 400/401, which proves it is up);
* `http` — any URL: status below 500;
* `tcp` — a TCP connect to host:port;
* `dns` — the name resolves.

Each result is `ok`, `slow` (answered over its latency threshold, or answered with an
error that is not an outage, such as 401 on the read) or `failed` (unreachable, timeout,
5xx). `round_health` folds the EHR's probes of one round into the `state.Round` the state
machine takes.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from standby.clock import instant
from standby.monitor.state import Health, Round
from standby.store.base import Store, Transaction

TokenProvider = Callable[[], str | None]

KINDS = ("fhir-metadata", "fhir-read", "token", "http", "tcp", "dns")


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    name: str
    kind: str
    target: str  # URL, or host:port (tcp), or host name (dns)
    interval_s: float = 10.0
    timeout_s: float = 5.0
    latency_ms: float = 2000.0
    ehr: bool = True  # one of the EHR's probes: counts in the downtime decision
    critical: bool = True  # of the EHR probes: its failure fails the round (else: slow)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"probe {self.name}: unknown kind {self.kind!r} (known: {KINDS})")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    probe: str
    kind: str
    at: datetime
    outcome: Health
    latency_ms: float | None
    detail: str
    ehr: bool = True
    critical: bool = True
    lost: bool = False  # failed with no answer at all (timeout, connection or name error)
    unresolved: bool = False  # of those: the name did not resolve


@dataclass
class Prober:
    """Runs probes over HTTP/TCP/DNS. One instance per runner (it keeps an HTTP client)."""

    token_provider: TokenProvider | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False))

    def run(self, spec: ProbeSpec, now: datetime) -> ProbeResult:
        start = time.perf_counter()
        lost, unresolved = True, False
        try:
            outcome, detail = self._measure(spec)
            lost = False
        except httpx.TimeoutException:
            outcome, detail = Health.FAILED, f"no answer within {spec.timeout_s:g} s"
        except (httpx.HTTPError, OSError) as e:
            outcome, detail = Health.FAILED, f"{type(e).__name__}: {e}"[:300]
            unresolved = _name_error(e)
        except concurrent.futures.TimeoutError:
            outcome, detail = Health.FAILED, f"no answer within {spec.timeout_s:g} s"
        ms = (time.perf_counter() - start) * 1000
        if outcome is Health.OK and ms > spec.latency_ms:
            outcome, detail = Health.SLOW, f"{detail}; {ms:.0f} ms over {spec.latency_ms:g} ms"
        return ProbeResult(
            spec.name,
            spec.kind,
            now,
            outcome,
            round(ms, 1),
            detail,
            spec.ehr,
            spec.critical,
            lost,
            unresolved,
        )

    def _measure(self, spec: ProbeSpec) -> tuple[Health, str]:
        t = spec.timeout_s
        if spec.kind == "tcp":
            host, _, port = spec.target.rpartition(":")
            with socket.create_connection((host.strip("[]"), int(port)), timeout=t):
                return Health.OK, "connected"
        if spec.kind == "dns":
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                infos = pool.submit(socket.getaddrinfo, spec.target, None).result(timeout=t)
            return Health.OK, f"{len({i[4][0] for i in infos})} address(es)"
        if spec.kind == "token":
            r = self.client.post(spec.target, data={"grant_type": "client_credentials"}, timeout=t)
            return _by_status(r, ok_below=500)
        headers = {"Accept": "application/fhir+json"}
        if spec.kind == "fhir-read" and self.token_provider is not None:
            try:
                token = self.token_provider()
            except Exception as e:  # the credentials, not the EHR: not an outage by itself
                return Health.SLOW, f"no token: {type(e).__name__}: {e}"[:300]
            if token:
                headers["Authorization"] = f"Bearer {token}"
        r = self.client.get(spec.target, headers=headers, timeout=t)
        if spec.kind == "http":
            return _by_status(r, ok_below=500)
        if r.status_code >= 500:
            return Health.FAILED, f"HTTP {r.status_code}"
        if r.status_code != 200:
            return Health.SLOW, f"HTTP {r.status_code} (answers, but refuses)"
        if spec.kind == "fhir-metadata":
            try:
                kind = r.json().get("resourceType")
            except ValueError:
                kind = None
            if kind != "CapabilityStatement":
                return Health.SLOW, f"HTTP 200 but not a CapabilityStatement ({kind})"
        return Health.OK, "HTTP 200"

    def close(self) -> None:
        self.client.close()


def _name_error(e: BaseException | None) -> bool:
    """Whether the error (or one it was raised from) is a failed name resolution."""
    while e is not None:
        if isinstance(e, socket.gaierror):
            return True
        e = e.__cause__ or e.__context__
    return False


def _by_status(r: httpx.Response, ok_below: int) -> tuple[Health, str]:
    if r.status_code >= ok_below:
        return Health.FAILED, f"HTTP {r.status_code}"
    return Health.OK, f"HTTP {r.status_code}"


def ehr_probes(
    base_url: str,
    *,
    interval_s: float,
    timeout_s: float,
    latency_ms: float,
    read_path: str = "Patient?_count=1",
    token_url: str | None = None,
) -> list[ProbeSpec]:
    """The EHR's probes: `/metadata` and an authenticated read (critical), the token endpoint."""
    base = base_url.rstrip("/")

    def spec(name: str, kind: str, target: str, critical: bool = True) -> ProbeSpec:
        return ProbeSpec(
            name,
            kind,
            target,
            interval_s=interval_s,
            timeout_s=timeout_s,
            latency_ms=latency_ms,
            critical=critical,
        )

    specs = [
        spec("ehr-metadata", "fhir-metadata", f"{base}/metadata"),
        spec("ehr-read", "fhir-read", f"{base}/{read_path.lstrip('/')}"),
    ]
    if token_url:
        specs.append(spec("ehr-token", "token", token_url, critical=False))
    return specs


def parse_extra_probe(
    text: str, *, interval_s: float, timeout_s: float, latency_ms: float
) -> ProbeSpec:
    """`[name=]URL [interval=S] [timeout=S] [latency_ms=MS]`; URL is `http(s)://...`,
    `tcp://host:port` or `dns://host`. Other systems: recorded and shown, not counted in
    the EHR's downtime decision."""
    words = text.split()
    if not words:
        raise ValueError("empty probe target")
    head, opts = words[0], words[1:]
    name, sep, url = head.partition("=")
    if not sep or "://" in name:
        name, url = "", head
    parts = urlsplit(url)
    kind = {"http": "http", "https": "http", "tcp": "tcp", "dns": "dns"}.get(parts.scheme)
    if kind is None:
        raise ValueError(f"probe {text!r}: use http(s)://, tcp://host:port or dns://host")
    target = url if kind == "http" else parts.netloc
    if kind == "tcp" and parts.port is None:
        raise ValueError(f"probe {text!r}: tcp:// needs a port")
    values = {"interval": interval_s, "timeout": timeout_s, "latency_ms": latency_ms}
    for opt in opts:
        key, _, value = opt.partition("=")
        if key not in values:
            raise ValueError(f"probe {text!r}: unknown option {key!r}")
        values[key] = float(value)
    return ProbeSpec(
        name or f"{kind}:{parts.netloc}",
        kind,
        target,
        interval_s=values["interval"],
        timeout_s=values["timeout"],
        latency_ms=values["latency_ms"],
        ehr=False,
        critical=False,
    )


def round_health(results: Sequence[ProbeResult], at: datetime) -> Round:
    """Fold one round of the EHR's probe results into a `Round` for the state machine.

    The round fails when a critical probe got a server error (the EHR says it is broken,
    e.g. its database is down behind a live front), or when no critical probe answered.
    A critical probe that got no answer at all while another critical probe of the same
    EHR answered in the same round is a lost request: the round is slow, and the state
    machine counts it failed only when the same probe stays lost longer than a burst
    (`Thresholds.lost_rounds_tolerated`). Otherwise alternating lost probes (/metadata
    lost, then the read, then /metadata) make three failed rounds while the EHR answered
    every one. The same holds when the only failure is the EHR's name not resolving (a
    DNS flap: the EHR's address may answer all along)."""
    ehr = [r for r in results if r.ehr]
    failed = [r for r in ehr if r.outcome is Health.FAILED and r.critical]
    answered = [r for r in ehr if r.outcome is not Health.FAILED and r.critical]
    weak = [r for r in ehr if r.outcome is not Health.OK and r not in failed]
    lost = tuple(r.probe for r in failed)
    if failed and all(r.lost for r in failed) and answered:
        names = ", ".join(r.probe for r in answered)
        evidence = "; ".join(f"{r.probe}: {r.detail}" for r in failed)
        return Round(at, Health.SLOW, f"{evidence} (lost: {names} answered)", lost)
    if failed and all(r.unresolved for r in failed):
        evidence = "; ".join(f"{r.probe}: {r.detail}" for r in failed)
        return Round(at, Health.SLOW, f"{evidence} (the name did not resolve)", lost)
    if failed:
        return Round(at, Health.FAILED, "; ".join(f"{r.probe}: {r.detail}" for r in failed))
    evidence = "; ".join(f"{r.probe}: {r.detail}" for r in weak) or "all probes ok"
    if weak:
        return Round(at, Health.SLOW, evidence)
    return Round(at, Health.OK, evidence)


def record(tx: Transaction, results: Sequence[ProbeResult]) -> None:
    for r in results:
        tx.execute(
            "INSERT INTO monitor_probe_results (probe, kind, at, outcome, latency_ms, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (r.probe, r.kind, instant(r.at), r.outcome.value, r.latency_ms, r.detail),
        )


def prune(tx: Transaction, now: datetime, retention: timedelta) -> int:
    """Drop results older than the retention window (the series stays bounded)."""
    return tx.execute("DELETE FROM monitor_probe_results WHERE at < ?", (instant(now - retention),))


@dataclass(frozen=True, slots=True)
class LatestProbe:
    probe: str
    kind: str
    at: str
    outcome: str
    latency_ms: float | None
    detail: str


def latest(store: Store, limit_per_probe: int = 1) -> list[LatestProbe]:
    """The newest result of each probe (for status pages)."""
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT r.probe, r.kind, r.at, r.outcome, r.latency_ms, r.detail "
            "FROM monitor_probe_results r JOIN (SELECT probe, MAX(at) AS at "
            "FROM monitor_probe_results GROUP BY probe) m ON m.probe = r.probe AND m.at = r.at "
            "ORDER BY r.probe"
        )
    return [LatestProbe(*row) for row in rows]


def series(store: Store, probe: str, since: datetime) -> list[LatestProbe]:
    with store.read_transaction() as tx:
        rows = tx.query(
            "SELECT probe, kind, at, outcome, latency_ms, detail FROM monitor_probe_results "
            "WHERE probe = ? AND at >= ? ORDER BY at",
            (probe, instant(since)),
        )
    return [LatestProbe(*row) for row in rows]
