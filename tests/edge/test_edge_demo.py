"""Issue 19's "Done when", with real processes and the commands of docs/edge-nodes.md
("In the demo") run as a person would paste them: `standby demo` is the first node; a
second node syncs unit 3W from its /fhir; the demo is stopped; the second node's viewer
still serves 3W's census over HTTP (two identifiers per patient, and whose data as of it
shows) and `standby report --unit 3W` writes a MAR whose text names 3W's patients."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support.web_browser import free_port

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "edge-nodes.md"
BIN = Path(sys.executable).parent
PASSWORD = "edge-3w-password"


def doc_commands() -> tuple[list[str], list[str]]:
    """The shell lines of the doc's "In the demo" block (continuations joined), before and
    after its `# stop the demo` line."""
    text = DOC.read_text().split("## In the demo", 1)[1]
    block = text.split("```", 2)[1].split("\n", 1)[1]
    lines: list[str] = []
    for raw in block.replace("\\\n", " ").splitlines():
        line = " ".join(raw.split())
        if line:
            lines.append(line)
    at = next(i for i, ln in enumerate(lines) if ln.startswith("# stop the demo"))
    return lines[:at], [ln for ln in lines[at + 1 :] if not ln.startswith("#")]


def until(what: str, ok: Callable[[], bool], timeout_s: float = 600) -> None:
    """Wait for `ok()` (a deadline against hanging, not a timed assertion)."""
    deadline = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.5)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def env() -> dict[str, str]:
    """A new user's shell: no Standby settings, the installation's `standby` on the PATH."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STANDBY_")}
    return clean | {"PATH": f"{BIN}{os.pathsep}{clean.get('PATH', '')}"}


@pytest.fixture
def demo(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`standby demo` in `tmp_path` (its folder demo-data/) on a free port: the first node."""
    port = free_port()
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        ["standby", "demo", "--beds", "40", "--port", str(port), "--ehr-port", "0",
         "--hl7-port", "0", "--change-rate", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip

    def up() -> bool:
        assert proc.poll() is None, (tmp_path / "demo.log").read_text()
        return answers(f"http://127.0.0.1:{port}/status")

    try:
        until("the demo to serve", up)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(120)
        log.close()


def shell(line: str, cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        ["bash", "-e", "-c", line],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_second_node_keeps_3w_when_the_demo_is_stopped(
    tmp_path: Path, env: dict[str, str], demo: tuple[subprocess.Popen[bytes], int]
) -> None:
    proc, port = demo
    edge_port = free_port()
    before, after = doc_commands()

    def ported(line: str) -> str:
        return line.replace(":8080/", f":{port}/").replace("--port 8081", f"--port {edge_port}")

    # the edge node's key pair, its registration on the first node, its own key and sync
    script = "\n".join(ported(ln) for ln in before)
    said = shell(f"{script} 2>&1", tmp_path, env)
    assert re.search(r"round: ok; .* census [1-9]", said), said
    assert '"level": "warning"' not in said, said  # a planned census seed is no warning
    exported = dict(re.findall(r"^export (\w+)=(\S+)$", script, re.M))
    edge_env = env | exported
    sync_line = next(ported(ln) for ln in before if ln.startswith("standby sync "))

    # the first node is stopped as the doc says: Ctrl-C
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 0
    assert not answers(f"http://127.0.0.1:{port}/status")

    serve = next(ln for ln in after if ln.startswith("standby serve "))
    for line in after:
        if line is serve:
            continue
        if line.startswith("standby user add "):
            shell(f"{line} --password-stdin", tmp_path, edge_env, stdin=PASSWORD + "\n")
        else:
            shell(ported(line), tmp_path, edge_env)

    # a round that cannot reach the first node: the banner then says so
    failed = subprocess.run(
        ["bash", "-c", sync_line], cwd=tmp_path, env=edge_env, capture_output=True, text=True
    )
    assert failed.returncode == 3, failed.stdout
    assert "error: the source does not answer: cannot reach" in failed.stderr, failed.stderr

    # the second node's viewer, the first node gone
    viewer_log = (tmp_path / "edge-viewer.log").open("wb")
    viewer = subprocess.Popen(
        ["bash", "-c", f"exec {ported(serve)}"],
        cwd=tmp_path, env=edge_env, stdout=viewer_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{edge_port}"
    try:
        until("the edge node's viewer", lambda: viewer.poll() is None and answers(f"{base}/status"))
        census, mrns = _census_3w(base)
    finally:
        viewer.send_signal(signal.SIGINT)
        viewer.wait(60)
        viewer_log.close()
    assert 'data-edge-state="central-unreachable"' in census
    assert "Central Standby unreachable" in census
    assert "Central Standby not answering" in census and "EHR not answering" not in census
    assert re.search(r"Data as of <strong>[^<]+</strong> \(the central node", census), census
    assert mrns, "3W has patients in the edge node's census"

    mars = sorted((tmp_path / "edge-packets").rglob("*mar*.pdf"))
    assert mars, sorted(p.name for p in (tmp_path / "edge-packets").rglob("*"))
    text = subprocess.run(
        ["pdftotext", "-layout", str(mars[-1]), "-"], capture_output=True, text=True, check=True
    ).stdout
    squeezed = " ".join(text.split())
    for mrn in mrns:
        assert f"MRN {mrn}" in squeezed, (mrn, squeezed[:2000])


def _census_3w(base: str) -> tuple[str, list[str]]:
    """The census page of 3W as its nurse sees it, and its patients' MRNs (each row shows
    two identifiers at least: the name and the MRN, with the birth date)."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as c:
        page = c.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, page.text
        r = c.post(
            "/login",
            data={
                "username": "nurse3w",
                "password": PASSWORD,
                "csrf_token": csrf.group(1),
                "next": "/",
            },
        )
        assert r.status_code == 303, r.text
        r = c.get("/units/loc-3w")
        assert r.status_code == 200, r.text
        html = r.text
    rows = re.findall(r'<tr data-patient="[^"]+">(.*?)</tr>', html, re.S)
    assert rows, html
    mrns = []
    for row in rows:
        who = re.search(
            r'class="who".*?<strong>[^<]+</strong>.*?DOB [-\d]{10}.*?MRN (\w+)', row, re.S
        )
        assert who, row
        mrns.append(who.group(1))
    return html, mrns
