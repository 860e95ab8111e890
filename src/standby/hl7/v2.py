"""Reading HL7 v2 messages: a thin, typed view over what the `hl7` library parses
(python-hl7, https://python-hl7.readthedocs.io/), which does the parsing and the escape
sequences (HL7 v2.8 chapter 2, 2.7 "Use of escape sequences in text fields").

A field is read as its repetitions, each a list of components, each a list of
subcomponents, all unescaped: the mappings never see the tree's varying depth. Segments
and fields are numbered as in the standard (MSH-9 is `segment.get(9)`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hl7.containers
import hl7.parser
import hl7.util

# repetitions -> components -> subcomponents
Rep = list[list[str]]


# segments that declare the separators in their first fields (python-hl7 reads them alike)
_HEADERS = frozenset({"MSH", "BHS", "FHS"})


class V2Error(ValueError):
    """A message that cannot be read as HL7 v2 (no MSH, no control id, ...)."""


class Segment:
    """One segment; fields numbered from 1 as in the standard (MSH-1 is the field separator).

    A field is split into repetitions and components by the library only when it is first
    read: a result's mapping reads a third of its fields, and parsing all of them up front
    (`hl7.parse` builds a container for every field, repetition and component) was most of
    the cost of reading a message."""

    __slots__ = ("_cache", "_esc", "_fields", "_marks", "_plan", "name")

    def __init__(self, plan: Any, text: str) -> None:
        self._plan = plan  # the message's parse plan, at the level of one field
        # the repetition, component and subcomponent separators (the plan's `applies`, cheaper)
        self._marks = plan.separators[2:]
        self._esc = plan.esc
        fields = text.split(plan.separators[1])
        self.name = fields[0]
        if self.name in _HEADERS:
            # as python-hl7 numbers them: MSH-1 (the separator itself) is index 1
            fields.insert(1, plan.separators[1])
        self._fields = fields
        self._cache: dict[int, list[Rep]] = {}

    def _unescape(self, text: str) -> str:
        # the library's unescaping reads the separators and escape character off the plan
        return hl7.util.unescape(self._plan, text) if self._esc in text else text

    def field(self, n: int) -> list[Rep]:
        """Field `n`: its repetitions (an absent or empty field: [])."""
        got = self._cache.get(n)
        if got is not None:
            return got
        if n >= len(self._fields):
            self._cache[n] = []
            return []
        raw = self._fields[n]
        # (read on every field of every message: the separators tested one by one)
        rep_mark, comp_mark, sub_mark = self._marks[0], self._marks[1], self._marks[2]
        if n < 3 and self.name in _HEADERS:
            reps: list[Rep] = [[[raw]]]
        elif rep_mark not in raw and comp_mark not in raw and sub_mark not in raw:
            # a plain value: nothing to split
            value = self._unescape(raw)
            reps = [[[value]]] if value else []
        elif rep_mark not in raw and sub_mark not in raw and self._esc not in raw:
            # one repetition of plain components (what the library's split of such a field
            # gives, without building its containers)
            rep = [[c] for c in raw.split(comp_mark)]
            reps = [rep] if any(c[0] for c in rep) else []
        else:
            tree = hl7.parser._split(raw, self._plan)
            reps = [self._rep(r) for r in _repetitions(tree)]
            reps = [r for r in reps if any(any(s for s in c) for c in r)]
        self._cache[n] = reps
        return reps

    def _rep(self, rep: Any) -> Rep:
        if isinstance(rep, str):
            return [[self._unescape(rep)]]
        out: Rep = []
        for comp in rep:
            if isinstance(comp, str):
                out.append([self._unescape(comp)])
            else:
                out.append([self._unescape(str(s)) for s in comp])
        return out

    def get(self, n: int, comp: int = 1, rep: int = 1, sub: int = 1) -> str:
        """One value ("" when absent)."""
        reps = self._cache.get(n)
        if reps is None:
            reps = self.field(n)
        if rep > len(reps):
            return ""
        comps = reps[rep - 1]
        if comp > len(comps):
            return ""
        subs = comps[comp - 1]
        return subs[sub - 1] if sub <= len(subs) else ""

    def __repr__(self) -> str:
        return f"<Segment {self.name}>"


def _repetitions(field: Any) -> list[Any]:
    """A python-hl7 Field is either a list of Repetitions or a list of one plain string."""
    if len(field) and isinstance(field[0], hl7.containers.Repetition):
        return list(field)
    return [str(field[0])] if len(field) else []


def component(rep: Rep, n: int, sub: int = 1) -> str:
    """Component `n` (subcomponent `sub`) of one repetition ("" when absent)."""
    if n > len(rep):
        return ""
    subs = rep[n - 1]
    return subs[sub - 1] if sub <= len(subs) else ""


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed message and what MSH says about it."""

    raw: str
    segments: list[Segment]
    message_type: str  # MSH-9.1, e.g. ADT
    trigger: str  # MSH-9.2, e.g. A01
    control_id: str  # MSH-10
    version: str  # MSH-12, e.g. 2.5.1
    sending_application: str  # MSH-3.1
    sending_facility: str  # MSH-4.1
    sent_at: str  # MSH-7.1, the v2 timestamp text

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    @property
    def sender(self) -> str:
        """Who sent it, as the duplicate check and meta.source name it: `APP^FACILITY`."""
        return f"{self.sending_application}^{self.sending_facility}"

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        for s in self.segments:
            if s.name == name:
                return s
        return None

    def groups(self, head: str, members: tuple[str, ...]) -> Iterator[list[Segment]]:
        """Runs of segments that begin with `head` and go on while the next segment is one of
        `members` (e.g. an OBR with its OBX and NTE segments)."""
        group: list[Segment] | None = None
        for s in self.segments:
            if s.name == head:
                if group:
                    yield group
                group = [s]
            elif group is not None and s.name in members:
                group.append(s)
            elif group is not None:
                yield group
                group = None
        if group:
            yield group


def normalise(text: str) -> str:
    """Segments separated by CR, as the standard says (archives and files often use LF or
    CRLF); leading blank lines and trailing whitespace dropped."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\n \t\x0b\x1c")
    return "\r".join(seg for seg in text.split("\r") if seg.strip())


@functools.lru_cache(maxsize=64)
def _plan(head: str) -> Any:
    """The library's parse plan, at the level of one field, for the separators MSH-1 and
    MSH-2 declare (`head`: the message up to MSH-2's end); a feed declares the same ones in
    every message, so it is made once."""
    return hl7.parser.create_parse_plan(head).next().next()


def parse(text: str) -> Message:
    """Parse one message; V2Error naming what is wrong when it is not HL7 v2."""
    text = normalise(text)
    if not text.startswith("MSH") or len(text) < 8:
        raise V2Error("not an HL7 v2 message: it does not begin with an MSH segment")
    try:
        end = text.find(text[3], 4)  # the end of MSH-2
        plan = _plan(text if end < 0 else text[: end + 1])  # MSH-2 and the separator after it
    except Exception as e:  # the library's ParseException and its index errors alike
        raise V2Error(f"not an HL7 v2 message: {e}") from e
    segs = [Segment(plan, s) for s in text.split("\r")]
    msh = segs[0]
    control_id = msh.get(10)
    if not control_id:
        raise V2Error("MSH-10 (message control id) is empty")
    return Message(
        raw=text,
        segments=segs,
        message_type=msh.get(9, 1).upper(),
        trigger=msh.get(9, 2).upper(),
        control_id=control_id,
        version=msh.get(12, 1),
        sending_application=msh.get(3, 1),
        sending_facility=msh.get(4, 1),
        sent_at=msh.get(7, 1),
    )
