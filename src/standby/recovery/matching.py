"""Is a patient registered during the downtime someone the EHR already knows? (pure: no I/O)

A registration entry (docs/journal.md, kind `registration`) holds what the registrar could
learn at the door: name, birth date, sex, sometimes a phone, an address and identifiers
the patient carried (an insurance card, the hospital's own MRN on an old wristband). After
the outage each one is compared with the EHR's Patients (`candidates.find` gathers them)
and a registrar decides, per registration, "same as EHR patient X" or "create new"
(`matches.decide`). This module only scores and explains; it never decides.

Scoring (`score`): points per field, each with the reason in words, so that the registrar
sees *why* a candidate is proposed, field by field:

- identifier (same system and value): +50; the same value, system not stated: +30; the
  same system with another value: −40;
- family name: +30; swapped with the given name, one part of a compound name shared, or
  one letter off in a name of 5 letters or more: +15;
- given name (the first one): +20; a known short form (Bill / William), or one letter off
  in 5 or more: +12; the same initial (a bare initial on one side): +5;
- birth date: +30; day and month swapped: +15; otherwise different: −20;
- sex: +5; different: −10 (unknown on either side: 0);
- phone (the last 7 digits): +5; address: +5.

Names and addresses are compared accent-, case-, space- and punctuation-insensitively
("José  O'Neil-Nuñez" = "jose oneil nunez"). The near-matches (nicknames, swapped
day and month, swapped names, one typo) are judged safe **only because a person decides**:
they raise a candidate so that it is seen, with the reason saying exactly what differs;
they can never make a match on their own.

Levels: `exact` (an identifier agrees, the birth date agrees, the names agree at least in
part — family exactly, or a near family and given name — and nothing disagrees; or
family, given, birth date and sex all agree exactly, with no identifier disagreeing),
`probable` (70 points or more), `possible` (35 or more); below that a candidate is not
shown.

The rule (`assess`): **nothing is ever matched automatically.** Even an exact identifier
match is only *suggested* (pre-selected on the registrar's page) and stored only when a
registrar confirms it. A suggestion is made only when exactly one candidate is `exact`
and no other candidate is `probable` or better; otherwise the registration is
`ambiguous` (two same-name, same-birth-date patients) and nothing is pre-selected.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

JSON = Mapping[str, Any]

# identifiers that say nothing about who a person is, for matching: the downtime MRN
# (handed out by Standby, unknown to the EHR) and the entry UUID of a filed resource
DOWNTIME_MRN_SYSTEM = "https://standby.example.org/fhir/sid/downtime-mrn"
NOT_PERSON_IDENTIFIERS = frozenset({DOWNTIME_MRN_SYSTEM, "urn:ietf:rfc:3986"})

EXACT, PROBABLE, POSSIBLE, UNLIKELY = "exact", "probable", "possible", "unlikely"
PROBABLE_POINTS = 70
POSSIBLE_POINTS = 35

# Common English and Spanish short forms. Each group is one person's names; kept small on
# purpose: a nickname adds points for a person to look at, it never decides.
NICKNAMES: tuple[frozenset[str], ...] = tuple(
    frozenset(g.split())
    for g in (
        "william bill billy will willy liam",
        "robert bob bobby rob robbie bert",
        "richard rick ricky dick rich",
        "james jim jimmy jamie",
        "john jack johnny jon",
        "michael mike mikey mick",
        "joseph joe joey",
        "thomas tom tommy",
        "charles charlie chuck chas",
        "anthony tony",
        "daniel dan danny",
        "edward ed eddie ted ned",
        "christopher chris kit",
        "matthew matt",
        "andrew andy drew",
        "nicholas nick nicky",
        "samuel sam sammy",
        "benjamin ben benny",
        "alexander alex sandy",
        "elizabeth liz lizzie beth betty eliza",
        "katherine catherine kathy kate katie cathy",
        "margaret maggie peggy meg",
        "jennifer jen jenny",
        "patricia pat patty trish",
        "susan sue susie",
        "deborah debbie deb",
        "rebecca becky",
        "victoria vicky tori",
        "francisco paco pancho",
        "jose pepe",
        "guadalupe lupe",
        "alejandro alex",
        "ignacio nacho",
        "dolores lola",
        "concepcion concha",
    )
)


def plain(text: str | None) -> str:
    """Accent-, case-, punctuation- and space-insensitive form: "José  O'Neil-Nuñez" →
    "jose oneil nunez" (hyphens and spaces separate parts; apostrophes join them)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    bare = bare.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("ł", "l")
    bare = re.sub(r"['’`.]", "", bare)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


@dataclass(frozen=True, slots=True)
class Person:
    """What is compared: one side of a match (a registration, or an EHR Patient)."""

    names: tuple[tuple[str, str], ...]  # (family, given) as written; the first is shown
    birth_date: str  # YYYY-MM-DD ("" unknown)
    sex: str  # male | female | other | unknown | ""
    identifiers: tuple[tuple[str, str], ...] = ()  # (system, value); system "" unknown
    phone: str = ""
    address: str = ""

    @property
    def name(self) -> str:
        """ "FAMILY, Given" as a registrar reads it."""
        if not self.names:
            return "(no name)"
        family, given = self.names[0]
        return f"{family.upper()}, {given}" if given else family.upper()


def from_registration(payload: JSON) -> Person:
    """The person a registration entry describes. Identifiers the patient carried come
    from `identifiers` (a list of {"system", "value"}, system optional) and the EHR MRN
    from `ehr_mrn` when the form had it; the downtime MRN is not a person's identifier."""
    idents: list[tuple[str, str]] = []
    for i in payload.get("identifiers") or []:
        if isinstance(i, Mapping) and str(i.get("value") or "").strip():
            idents.append((str(i.get("system") or "").strip(), str(i["value"]).strip()))
    if str(payload.get("ehr_mrn") or "").strip():
        idents.append(("", str(payload["ehr_mrn"]).strip()))
    return Person(
        names=((str(payload.get("family") or ""), str(payload.get("given") or "")),),
        birth_date=str(payload.get("birth_date") or ""),
        sex=str(payload.get("sex") or ""),
        identifiers=tuple(idents),
        phone=str(payload.get("phone") or ""),
        address=str(payload.get("address") or ""),
    )


def from_patient(patient: JSON) -> Person:
    """An EHR Patient as a `Person`: every name it carries (official first), its
    identifiers (those of a person), first phone and first address."""
    names: list[tuple[str, str]] = []
    raw = [n for n in patient.get("name") or [] if isinstance(n, Mapping)]
    raw.sort(key=lambda n: 0 if n.get("use") == "official" else 1 if not n.get("use") else 2)
    for n in raw:
        given = " ".join(g for g in n.get("given") or [] if isinstance(g, str))
        family = str(n["family"]) if isinstance(n.get("family"), str) else ""
        if not family and isinstance(n.get("text"), str):
            parts = n["text"].split()
            family, given = (parts[-1], " ".join(parts[:-1])) if parts else ("", "")
        names.append((family, given))
    idents = tuple(
        (str(i.get("system") or ""), str(i["value"]))
        for i in patient.get("identifier") or []
        if isinstance(i, Mapping)
        and isinstance(i.get("value"), str)
        and i.get("system") not in NOT_PERSON_IDENTIFIERS
    )
    phone = next(
        (
            t.get("value", "")
            for t in patient.get("telecom") or []
            if isinstance(t, Mapping) and t.get("system") == "phone"
        ),
        "",
    )
    address = ""
    for a in patient.get("address") or []:
        if isinstance(a, Mapping):
            address = a.get("text") or ", ".join(
                p
                for p in [*(a.get("line") or []), a.get("city"), a.get("state")]
                if isinstance(p, str) and p
            )
            break
    return Person(
        names=tuple(names),
        birth_date=str(patient.get("birthDate") or ""),
        sex=str(patient.get("gender") or ""),
        identifiers=idents,
        phone=str(phone),
        address=str(address),
    )


@dataclass(frozen=True, slots=True)
class Reason:
    field: str  # identifier | family | given | birth_date | sex | phone | address
    points: int
    text: str  # in words: "birth date: day and month swapped (1980-03-04 / 1980-04-03)"

    @property
    def agrees(self) -> bool:
        return self.points > 0


@dataclass(frozen=True, slots=True)
class Score:
    points: int
    level: str  # exact | probable | possible | unlikely
    reasons: tuple[Reason, ...]


def _one_typo(a: str, b: str) -> bool:
    """One letter changed, added, dropped, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _nicknames(a: str, b: str) -> bool:
    return a != b and any(a in g and b in g for g in NICKNAMES)


def swapped_day_month(birth: str) -> str | None:
    """The date with day and month swapped, when that is another valid date."""
    try:
        d = date.fromisoformat(birth)
    except ValueError:
        return None
    if d.day == d.month or d.day > 12:
        return None
    return date(d.year, d.day, d.month).isoformat()


def _family(reg: str, cand: str, reg_given: str, cand_given: str) -> Reason:
    a, b = plain(reg), plain(cand)
    if not a or not b:
        return Reason("family", 0, "family name: missing on one side")
    if a == b:
        same = "same" if reg == cand else "same, ignoring accents and case"
        return Reason("family", 30, f"family name: {same} ({reg} / {cand})")
    if a == plain(cand_given) and b == plain(reg_given):
        return Reason("family", 15, f"family and given names swapped ({reg} / {cand})")
    pa, pb = set(a.split()), set(b.split())
    if pa & pb:
        return Reason("family", 15, f"family name: shares a part ({reg} / {cand})")
    if len(a) >= 5 and _one_typo(a.replace(" ", ""), b.replace(" ", "")):
        return Reason("family", 15, f"family name: one letter differs ({reg} / {cand})")
    return Reason("family", 0, f"family name differs ({reg} / {cand})")


def _given(reg: str, cand: str) -> Reason:
    a, b = plain(reg), plain(cand)
    if not a or not b:
        return Reason("given", 0, "given name: missing on one side")
    fa, fb = a.split()[0], b.split()[0]
    if a == b or fa == fb:
        same = "same" if reg == cand else "same, ignoring accents and case"
        if a != b:
            same = "same first given name"
        return Reason("given", 20, f"given name: {same} ({reg} / {cand})")
    if _nicknames(fa, fb):
        return Reason("given", 12, f"given name: a known short form ({reg} / {cand})")
    if fa[0] == fb[0] and (len(fa) == 1 or len(fb) == 1):
        return Reason("given", 5, f"given name: same initial ({reg} / {cand})")
    if len(fa) >= 5 and _one_typo(fa, fb):
        return Reason("given", 12, f"given name: one letter differs ({reg} / {cand})")
    return Reason("given", 0, f"given name differs ({reg} / {cand})")


def _birth(reg: str, cand: str) -> Reason:
    if not reg or not cand:
        return Reason("birth_date", 0, "birth date: missing on one side")
    if reg == cand:
        return Reason("birth_date", 30, f"birth date: same ({reg})")
    if swapped_day_month(reg) == cand:
        return Reason("birth_date", 15, f"birth date: day and month swapped ({reg} / {cand})")
    return Reason("birth_date", -20, f"birth date differs ({reg} / {cand})")


def _sex(reg: str, cand: str) -> Reason:
    if reg in ("", "unknown") or cand in ("", "unknown"):
        return Reason("sex", 0, "sex: unknown on one side")
    if reg == cand:
        return Reason("sex", 5, f"sex: same ({reg})")
    return Reason("sex", -10, f"sex differs ({reg} / {cand})")


def _identifiers(reg: Person, cand: Person) -> list[Reason]:
    out: list[Reason] = []
    theirs = {(plain(s), v.strip().casefold()) for s, v in cand.identifiers}
    values = {v for _s, v in theirs}
    systems = {s for s, _v in theirs}
    for system, value in reg.identifiers:
        s, v = plain(system), value.strip().casefold()
        if s and (s, v) in theirs:
            out.append(Reason("identifier", 50, f"identifier: same ({system} {value})"))
        elif not s and v in values:
            out.append(
                Reason("identifier", 30, f"identifier: same value, system not stated ({value})")
            )
        elif s and s in systems:
            other = next(cv for cs, cv in theirs if cs == s)
            out.append(
                Reason("identifier", -40, f"identifier differs ({system}: {value} / {other})")
            )
    return out


def score(registration: Person, candidate: Person) -> Score:
    """How well `candidate` (an EHR Patient) matches `registration`, with the reasons.
    The candidate's best-agreeing name is the one compared (a maiden name, an alias)."""
    reasons = _identifiers(registration, candidate)
    reg_family, reg_given = registration.names[0] if registration.names else ("", "")
    best: tuple[Reason, Reason] | None = None
    for family, given in candidate.names or (("", ""),):
        pair = (_family(reg_family, family, reg_given, given), _given(reg_given, given))
        if best is None or pair[0].points + pair[1].points > best[0].points + best[1].points:
            best = pair
    assert best is not None
    reasons += [*best, _birth(registration.birth_date, candidate.birth_date)]
    reasons.append(_sex(registration.sex, candidate.sex))
    if len(digits(registration.phone)) >= 7 and (
        digits(registration.phone)[-7:] == digits(candidate.phone)[-7:]
    ):
        reasons.append(Reason("phone", 5, f"phone: same ({candidate.phone})"))
    if plain(registration.address) and plain(registration.address) == plain(candidate.address):
        reasons.append(Reason("address", 5, f"address: same ({candidate.address})"))
    points = sum(r.points for r in reasons)
    return Score(points, _level(reasons, points), tuple(reasons))


def _level(reasons: Sequence[Reason], points: int) -> str:
    by = {r.field: r.points for r in reasons if r.field != "identifier"}
    ids = [r.points for r in reasons if r.field == "identifier"]
    disagrees = any(r.points < 0 for r in reasons)
    # an identifier is exact only beside the person's own birth date and a name of theirs
    # (a relative's insurance card carries the relative's name)
    supported = by.get("birth_date") == 30 and (by.get("family", 0) + by.get("given", 0)) >= 30
    if ids and max(ids) >= 50 and not disagrees and supported:
        return EXACT
    demographics = by.get("family") == 30 and by.get("given") == 20 and by.get("birth_date") == 30
    if demographics and by.get("sex", 0) == 5 and not any(p < 0 for p in ids):
        return EXACT
    if points >= PROBABLE_POINTS:
        return PROBABLE
    if points >= POSSIBLE_POINTS:
        return POSSIBLE
    return UNLIKELY


@dataclass(frozen=True, slots=True)
class Candidate:
    """An EHR Patient proposed for a registration, scored."""

    patient_id: str
    person: Person
    score: Score
    source: str  # "EHR", "replica", or "EHR and replica"
    patient: JSON = field(repr=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assessment:
    """The candidates of one registration, best first, and what the page pre-selects."""

    candidates: tuple[Candidate, ...]  # possible or better, best first
    suggested: str | None  # the Patient id pre-selected (a person still confirms)
    ambiguous: bool  # more than one candidate at probable or better
    note: str  # in words, for the registrar


def assess(registration: Person, patients: Iterable[tuple[str, JSON, str]]) -> Assessment:
    """Score each (patient id, Patient, source) against `registration`; keep `possible`
    and better, best first; pre-select one only under the rule of the module docstring."""
    scored = [
        Candidate(pid, p, score(registration, p), source, body)
        for pid, body, source in patients
        for p in (from_patient(body),)
    ]
    kept = sorted(
        (c for c in scored if c.score.level != UNLIKELY),
        key=lambda c: (-c.score.points, c.patient_id),
    )
    exact = [c for c in kept if c.score.level == EXACT]
    strong = [c for c in kept if c.score.level in (EXACT, PROBABLE)]
    ambiguous = len(strong) > 1
    suggested = exact[0].patient_id if len(exact) == 1 and len(strong) == 1 else None
    if not kept:
        note = "No EHR patient resembles this registration: likely a new patient."
    elif ambiguous:
        note = (
            f"{len(strong)} EHR patients match closely: compare every field and the "
            "identifiers before choosing; nothing is pre-selected."
        )
    elif suggested:
        note = "One EHR patient matches exactly: pre-selected, confirm it or choose otherwise."
    else:
        note = "Only partial matches: compare the fields before choosing."
    return Assessment(tuple(kept), suggested, ambiguous, note)
