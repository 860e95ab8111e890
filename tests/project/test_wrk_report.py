"""`standby bench web` reads wrk's report: totals, errors and p99 (the load client's
figures are the benchmark's, so a misread would misreport the viewer)."""

from __future__ import annotations

from standby.bench.http_load import parse_wrk

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
