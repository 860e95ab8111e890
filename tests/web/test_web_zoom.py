"""Reading the summary and the census at browser zoom and with the keyboard only, in
Chromium: the sticky patient header never hides what is read (paging, jump targets,
focused controls), and the census keeps Bed and Patient in view while its rows scroll
sideways (docs/web.md#accessibility-and-printing). Screenshots: web-zoom-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from standby import clinical
from support.web_browser import chromium, log_in, served, shot, zoomed
from support.web_site import Hospital

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}
PORTRAIT = {"width": 800, "height": 1280}
SECTIONS = ["allergies", "medications", "mar", "vitals", "labs", "notes", "orders", "upcoming"]

# What the patient header, or the one-line strip that sticks instead of it, covers of the
# window, in CSS pixels (0 when neither is on screen).
COVERED = """() => Math.max(0, ...['patient-header', 'subject-strip'].map(id => {
  const e = document.getElementById(id);
  if (!e || !e.offsetHeight) return 0;
  const r = e.getBoundingClientRect();
  return Math.max(0, Math.min(r.bottom, window.innerHeight) - Math.max(r.top, 0));
}))"""


def _summary_url(hospital: Hospital, base: str) -> str:
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    return f"{base}/patients/{census.patients[0].id}"


def _open(browser: Any, base: str, url: str, **page_args: Any) -> Any:
    page = browser.new_page(bypass_csp=True, **page_args)  # for wait_for_function
    log_in(page, base, "nurse")
    page.goto(url)
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("zoom", [200, 400])
def test_patient_header_leaves_the_summary_readable_at_zoom(hospital: Hospital, zoom: int) -> None:
    patient = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now).patients[0]
    with served(hospital.app) as base, chromium() as browser:
        page = _open(browser, base, f"{base}/patients/{patient.id}", **zoomed(zoom))
        height = page.evaluate("window.innerHeight")
        for section in SECTIONS:
            page.locator(f"#{section}").scroll_into_view_if_needed()
            page.evaluate(f"document.getElementById('{section}').scrollIntoView()")
            covered = page.evaluate(COVERED)
            assert covered <= height / 3, f"#{section}: the header covers {covered} of {height} px"
            top = page.evaluate(f"document.getElementById('{section}').getBoundingClientRect().top")
            assert covered <= top + 1, f"#{section} lands under the header"
            strip = page.locator("#subject-strip")
            if zoom == 200:  # the identifiers stay on screen in one line
                assert strip.is_visible() and abs(strip.bounding_box()["y"]) <= 1  # type: ignore[index]
                assert f"MRN {patient.mrn}" in strip.inner_text(), section
                assert f"DOB {patient.dob}" in strip.inner_text(), section
            else:  # at 320 x 200 nothing sticks
                assert not strip.is_visible()
        shot(page, f"zoom-{zoom}-summary-labs", full_page=False)


AT_END = "window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2"


def _settled_scroll(page: Any, before: float) -> float:
    """window.scrollY once scrolling from `before` has started (or the page is at its end)
    and then stopped (smooth scrolling: unchanged for 0.3 s)."""
    last, still = before, 0
    for _ in range(100):  # at most 10 s, against hanging
        page.wait_for_timeout(100)
        y = page.evaluate("window.scrollY")
        if y == before and not page.evaluate(AT_END):
            continue  # not started yet
        still = still + 1 if y == last else 0
        if still >= 3:
            return float(y)
        last = y
    raise AssertionError(f"the page did not scroll from {before}")


@pytest.mark.parametrize(
    ("name", "page_args"),
    [("tablet", {"viewport": TABLET}), ("200", zoomed(200)), ("400", zoomed(400))],
)
def test_paging_down_skips_no_row_under_the_header(
    hospital: Hospital, name: str, page_args: dict[str, Any]
) -> None:
    """Each Page Down moves by at most what was readable: the last line read before is
    still on screen, below the header, after it."""
    with served(hospital.app) as base, chromium() as browser:
        page = _open(browser, base, _summary_url(hospital, base), **page_args)
        page.locator("#mar").scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, document.getElementById('mar').offsetTop)")
        page.locator("#mar h2").click()  # the keyboard acts on the page, not a field
        height = page.evaluate("window.innerHeight")
        start = page.evaluate("window.scrollY")
        for _ in range(6):
            before = page.evaluate("window.scrollY")
            readable = height - page.evaluate(COVERED)
            page.keyboard.press("PageDown")
            moved = _settled_scroll(page, before) - before
            assert moved <= readable + 1, f"Page Down moved {moved} px, {readable} were readable"
            if moved == 0 or page.evaluate(AT_END):
                break
        assert page.evaluate("window.scrollY") > start, "Page Down moved the page"
        shot(page, f"zoom-{name}-paged", full_page=False)


@pytest.mark.parametrize(
    ("name", "page_args"),
    [
        ("tablet", {"viewport": TABLET}),
        ("portrait", {"viewport": PORTRAIT}),
        ("laptop", {"viewport": {"width": 1280, "height": 800}}),
        ("200", zoomed(200)),
    ],
)
def test_jump_targets_land_below_the_header(
    hospital: Hospital, name: str, page_args: dict[str, Any]
) -> None:
    with served(hospital.app) as base, chromium() as browser:
        page = _open(browser, base, _summary_url(hospital, base), **page_args)
        for section in SECTIONS:
            page.goto(f"{page.url.split('#')[0]}#{section}")
            heading = page.locator(f"#{section} h2")
            top = heading.evaluate("h => h.getBoundingClientRect().top")
            covered = page.evaluate(COVERED)
            assert top >= covered - 1, f"{name}: #{section}'s heading is under the header"
            at_end = page.evaluate(
                "window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1"
            )
            assert at_end or top < page.evaluate("window.innerHeight") / 2, f"{name}: #{section}"
        shot(page, f"zoom-{name}-jump-upcoming", full_page=False)


@pytest.mark.parametrize(
    ("name", "page_args"),
    [("tablet", {"viewport": TABLET}), ("portrait", {"viewport": PORTRAIT}), ("200", zoomed(200))],
)
def test_focus_is_never_under_the_header(
    hospital: Hospital, name: str, page_args: dict[str, Any]
) -> None:
    """Skip to content, then Tab through the print button, the section links and on:
    every focused control is on screen and below the sticky header; and the same
    coming back up with Shift+Tab from further down the page."""
    with served(hospital.app) as base, chromium() as browser:
        page = _open(browser, base, _summary_url(hospital, base), **page_args)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        for n, key in enumerate(["Tab"] * 24 + ["Shift+Tab"] * 8):
            page.keyboard.press(key)
            where = page.evaluate(
                """() => {
                  const e = document.activeElement, r = e.getBoundingClientRect();
                  const rects = ['patient-header', 'subject-strip']
                    .map(id => document.getElementById(id))
                    .filter(x => x && x.offsetHeight).map(x => x.getBoundingClientRect());
                  const h = {top: Math.min(...rects.map(x => x.top)),
                             bottom: Math.max(...rects.map(x => x.bottom))};
                  return {tag: e.tagName, text: (e.textContent || '').trim().slice(0, 40),
                          top: r.top, bottom: r.bottom, header: [h.top, h.bottom],
                          inside: document.getElementById('patient-header').contains(e),
                          height: window.innerHeight};
                }"""
            )
            if where["inside"] or where["tag"] == "BODY":  # inside it, or past the last stop
                continue
            top, bottom = where["header"]
            under = where["bottom"] > top + 1 and where["top"] < bottom - 1
            assert not under, f"{name}, {n} {key}: {where} is under the header"
            assert where["top"] >= -1, f"{name}, {n} {key}: {where} is above the window"
            assert where["top"] < where["height"], f"{name}, {n} {key}: {where} is below it"
        shot(page, f"zoom-{name}-focus", full_page=False)


@pytest.mark.parametrize("zoom", [200, 400])
def test_census_keeps_bed_and_patient_in_view(hospital: Hospital, zoom: int) -> None:
    census = clinical.unit_census(hospital.store, hospital.unit_id, hospital.clock.now)
    patient = census.patients[0]
    with served(hospital.app) as base, chromium() as browser:
        page = _open(browser, base, f"{base}/units/{hospital.unit_id}", **zoomed(zoom))
        box = page.locator("div.scroll:has(#census)")
        assert box.evaluate("b => b.scrollWidth > b.clientWidth"), "the census scrolls sideways"
        page.evaluate("window.scrollTo(0, document.getElementById('census').offsetTop)")
        box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
        frame = box.evaluate(
            "b => { const r = b.getBoundingClientRect(); return [r.left, r.right]; }"
        )
        row = page.locator(f'#census tr[data-patient="{patient.id}"]')
        edges: list[tuple[float, float]] = []
        for cell in (row.locator("> :nth-child(1)"), row.locator("> :nth-child(2)")):
            left, right = cell.evaluate(
                "c => { const r = c.getBoundingClientRect(); return [r.left, r.right]; }"
            )
            assert frame[0] - 1 <= left and right <= frame[1] + 1, cell.inner_text()
            edges.append((left, right))
        assert edges[1][0] <= edges[0][1] + 0.5, "no gap between Bed and Patient"
        assert patient.name in row.locator("> :nth-child(2)").inner_text()
        shot(page, f"zoom-{zoom}-census-scrolled", full_page=False)
