"""`standby bench web` reads wrk's report: totals, errors and p99 (the load client's
figures are the benchmark's, so a misread would misreport the viewer)."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from standby.bench.http_load import _wrk, parse_wrk

REPORT = """Running 15s test @ http://127.0.0.1:41234
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    95.12ms   40.16ms 610.00ms   80.11%
    Req/Sec   535.10    100.07     0.75k    70.00%
  Latency Distribution
     50%   88.50ms
     75%  110.21ms
     90%  140.00ms
     99%    1.20s
  8031 requests in 15.01s, 401.23MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:    535.05
"""


def test_totals_errors_and_p99_are_read() -> None:
    f = parse_wrk(REPORT)
    assert f["ok"] == 8031 - 7
    assert f["errors"] == 7 + 2 + 3
    assert f["seconds"] == 15.01
    assert f["p99_ms"] == 1200.0


def test_a_clean_run_has_no_errors() -> None:
    clean = REPORT.replace("  Socket errors: connect 0, read 2, write 0, timeout 3\n", "")
    clean = clean.replace("  Non-2xx or 3xx responses: 7\n", "").replace("1.20s", "950.5us")
    f = parse_wrk(clean)
    assert (f["ok"], f["errors"], f["p99_ms"]) == (8031, 0, 0.9505)


def test_only_the_expected_pages_count_when_the_script_counted_them() -> None:
    """A lost session answers every request with a redirect to /login: wrk counts 3xx as
    fine, so the script's count of expected pages is what is served."""
    f = parse_wrk(REPORT.replace("Requests/sec", "expected pages: 5000\nRequests/sec"))
    assert f["ok"] == 5000
    assert f["errors"] == (8031 - 5000) + 2 + 3


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_redirects_and_other_pages_as_errors() -> None:
    """Real wrk against a real server whose every other answer is a redirect to /login
    and whose 200s alternate between the expected page and another one."""
    served = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/login":
                self._send(200, b'<input name="csrf_token" value="t">')
            elif self.path == "/moved":
                self._send(302, b"", {"Location": "/login"})
            elif self.path == "/other":
                self._send(200, b"<h1>Sign in</h1>")
            else:
                served["n"] += 1
                self._send(200, b'<h2 id="h-allergies">Allergies</h2>')

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(200, b"in", {"Set-Cookie": "s=1"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        f = _wrk(base, ["/page", "/moved", "/other", "/page"], 1.0, 2, 'id="h-allergies"')
    finally:
        server.shutdown()
        server.server_close()
    # every page served counts, but for the few in flight when wrk stopped (2 clients)
    assert served["n"] - 2 <= f["ok"] <= served["n"] and f["ok"] > 0
    assert f["errors"] >= f["ok"] - 2  # half of what was asked was not the page
