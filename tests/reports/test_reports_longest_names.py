"""The longest names and identifiers an EHR may send: on every printed page the patient's
name, date of birth and MRN are drawn where nothing else is (no two words overprint),
and each is printed whole. Word boxes come from poppler's `pdftotext -bbox`."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

from standby.fhir.summary import patient_summary
from standby.reports import render
from standby.reports.pages import Furniture
from support.summary_fixtures import LOCATIONS, NOW, allergy, encounter, med_request, patient

ARTIFACTS = Path(__file__).parents[2] / "artifacts" / "reports"
WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)

CASES = {
    # a real kind of long name: several given names and a double-barrelled family name
    "long": (
        "Montgomery-Featherstonehaugh-Wolfeschlegelsteinhausen",
        "Alexandria Josephine Maximiliana Bartholomew",
        "100234",
    ),
    # longer than any line: nothing can shrink it to fit
    "endless": ("Abcdefghij" * 14, "Klmnopqrst " * 8, "MRN-" + "7" * 36),
}


def _words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True)
    pages = out.stdout.decode().split("<page ")[1:]
    return [
        [(float(a), float(b), float(c), float(d), unescape(t)) for a, b, c, d, t in WORD.findall(p)]
        for p in pages
    ]


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


@pytest.mark.parametrize("case", sorted(CASES))
def test_identifiers_are_never_overprinted(case: str, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    family, given, mrn = CASES[case]
    res = [
        patient(family=family, given=given, mrn=mrn),
        encounter(),
        allergy("Penicillin", code="70618"),
        med_request("m1", "Metoprolol tartrate", dose=25),
    ]
    s = patient_summary(res, NOW, resolved=LOCATIONS)
    pdf = tmp_path / f"{case}.pdf"
    f = Furniture(NOW - timedelta(minutes=4), NOW, "4W", banner="DOWNTIME")
    pdf.write_bytes(bytes(render.patient_pdf(s, f)))
    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(ARTIFACTS / f"longest-name-{case}"),
            ],
            check=False,
        )
    for n, words in enumerate(_words(pdf), start=1):
        # the page's header and footer: where the identifiers are
        edge = [w for w in words if w[1] < 130 or w[3] > 792 - 60]
        text = " ".join(w[4] for w in edge)
        assert mrn in text and "1957-03-02" in text, n  # never cut
        if case == "long":  # a long real name is printed whole on every page
            for word in [*given.split(), family]:
                assert word in text, (n, word)
        else:  # one that no line can hold starts the header; the face sheet has it whole
            assert family[:40] in "".join(text.split()), n
            page_one = "".join(w[4] for w in words) if n == 1 else ""
            assert n > 1 or "".join(given.split()) in page_one
        for i, a in enumerate(edge):
            for b in edge[i + 1 :]:
                smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
                assert _overlap(a, b) <= 0.15 * smaller, f"page {n}: {a[4]!r} over {b[4]!r}"
