"""On both nights the clocks change in New York, the web MAR (the real page) and the paper
MAR (the real PDF, read by pdftotext) give every order the same dose times, and those
times follow the rule: qNh in real hours from its first dose or the last dose given,
clock times on the wall clock, a missing 02:30 at 03:30 EDT, a repeated hour with its
zone, derived times marked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import orjson
import pytest

from standby.accounts import users
from standby.settings import Settings
from standby.store import open_store
from standby.web.app import create_app
from support.change_nights import NIGHTS
from support.web_site import PASSWORD, Clock, Site

DAY = re.compile(r"^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day (\d\d) ([A-Z][a-z]{2})[a-z]* \d{4}")
ROW = re.compile(r"^(\d\d:\d\d)\s+([A-Z][a-z]+)")
ZONES = ("EDT", "EST")


def _site(path: Path, night: str) -> Site:
    now, resources = NIGHTS[night]
    store = open_store(db=path)
    for r in resources:
        store.upsert(orjson.dumps(r))
    users.add_user(store, "doc", PASSWORD, role="physician", units=["*"])
    clock = Clock()
    clock.now = now
    settings = Settings(db=path, timezone="America/New_York")
    return Site(create_app(settings, store, clock=clock), store, clock, settings)


def _paper(pdf: Path) -> dict[str, list[str]]:
    """Drug (first word) → "DD Mon HH:MM[ ZONE]" of its rows in the paper MAR's grid."""
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    grid = text.split("MAR — 24 hours from", 1)[1].split("PRN — AS NEEDED", 1)[0]
    lines = grid.splitlines()
    out: dict[str, list[str]] = {}
    day = ""
    for i, line in enumerate(lines):
        if m := DAY.match(line):
            day = f"{m[1]} {m[2]}"
        elif m := ROW.match(line):
            after = lines[i + 1].split()[:1] if i + 1 < len(lines) else []
            zone = f" {after[0]}" if after and after[0] in ZONES else ""
            out.setdefault(m[2], []).append(f"{day} {m[1]}{zone}")
    return out


def _web(html: str, today: str) -> dict[str, list[str]]:
    """Drug (first word) → its next due and the times after it on the web MAR."""
    table = html.split('id="mar-table"', 1)[1].split("</table>", 1)[0]
    out: dict[str, list[str]] = {}
    for row in table.split("<tr")[2:]:
        if "data-prn" in row[:40]:
            continue
        cells = row.split("<td")
        drug = re.search(r"<strong>([A-Z][a-z]+)", cells[0])
        nxt = re.search(r"<strong>([^<]+)</strong>", cells[3])
        assert drug and nxt, row
        then = re.sub(r"<br><span[^>]*>.*?</span>", "", cells[4].split(">", 1)[1])
        then = re.sub(r"<[^>]+>", "", then).strip()
        times = [nxt[1], *(t.strip() for t in then.split(",") if t.strip())]
        out[drug[1]] = [t if t[:2].isdigit() and t[2] == " " else f"{today} {t}" for t in times]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("night", ["spring", "fall"])
def test_web_and_paper_give_the_same_times_on_the_nights_the_clocks_change(
    tmp_path: Path, night: str
) -> None:
    site = _site(tmp_path / "h.db", night)
    try:
        client = site.login("doc")
        html = client.get("/patients/p1").text
        pdf = tmp_path / "mar.pdf"
        pdf.write_bytes(client.get("/patients/p1/print.pdf").content)
    finally:
        site.store.close()
    today = "08 Mar" if night == "spring" else "01 Nov"
    web, paper = _web(html, today), _paper(pdf)
    assert set(web) == {"Cefazolin", "Morphine", "Metoprolol", "Levothyroxine", "Famotidine",
                        "Vancomycin"}  # fmt: skip
    for drug, times in web.items():
        assert paper[drug][: len(times)] == times, drug
    if night == "spring":  # 02:00 EST → 03:00 EDT
        assert web["Cefazolin"] == ["08 Mar 07:00", "08 Mar 15:00", "08 Mar 23:00"]  # 22:00 + 8 h
        assert web["Morphine"][:2] == ["08 Mar 01:10", "08 Mar 04:10"]  # 2 real hours
        assert web["Levothyroxine"] == ["08 Mar 03:30"]
        assert "for 02:30: no 02:30 tonight" in html
    else:  # 02:00 EDT → 01:00 EST
        assert web["Cefazolin"] == ["01 Nov 05:00", "01 Nov 13:00", "01 Nov 21:00"]
        assert web["Morphine"][:2] == ["01 Nov 01:10 EDT", "01 Nov 02:10"]
        assert web["Famotidine"][0] == "01 Nov 01:30 EDT"
    assert web["Metoprolol"] == [f"{today} 09:00", f"{today} 21:00"]
    for text in (html, subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                      text=True, check=True).stdout):  # fmt: skip
        flat = " ".join(text.split())
        assert "times derived from q12h — check the order" in flat or "times derived:" in flat
        assert "counted in real hours from the last dose given" in flat


@pytest.mark.browser
@pytest.mark.parametrize("night", ["spring", "fall"])
def test_the_mar_in_chromium_on_the_nights_the_clocks_change(tmp_path: Path, night: str) -> None:
    """What a nurse sees in a browser (a screenshot kept in artifacts/screenshots): the
    times the server-rendered page holds, with the derived marks and the legend."""
    from support.web_browser import chromium, log_in, served, shot

    site = _site(tmp_path / "h.db", night)
    try:
        with served(site.app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            log_in(page, base, "doc")
            page.goto(f"{base}/patients/p1")
            mar = page.locator("#mar")
            mar.screenshot(path=str(tmp_path / "mar.png"))
            shot(page, f"mar-change-night-{night}")
            seen = " ".join(mar.inner_text().split())
    finally:
        site.store.close()
    if night == "spring":
        assert "08 Mar 03:30 for 02:30: no 02:30 tonight, the clocks go forward" in seen
        assert "08 Mar 07:00 15:00, 23:00" in seen  # cefazolin: 8 real hours from 22:00 EST
    else:
        assert "01 Nov 01:10 EDT 02:10, 04:10, 06:10" in seen  # morphine: 2 real hours
        assert "01 Nov 05:00 13:00, 21:00" in seen  # cefazolin: 8 real hours from 22:00 EDT
    assert "times derived from q12h — check the order" in seen
    assert "times derived from BID — check the order" in seen
    assert "counted in real hours from the last dose given" in seen
