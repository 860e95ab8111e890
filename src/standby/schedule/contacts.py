"""Call lists: whom to call because their surgery or visit is postponed or cancelled, per
clinic and per surgeon, with what to say in the patient's language where the EHR records
one (`Patient.communication`) and a script exists (docs/schedule.md#call-lists). Pure.

What is said names no procedure, diagnosis or clinic specialty: the spoken script follows
a check of the date of birth, and the voicemail says only that an appointment moves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from standby.schedule.repository import Call
from standby.schedule.triage import Triaged

# {when} "Tuesday 1 December at 08:00"; {who} the surgeon or clinician; {hospital}; {phone}
SCRIPTS: dict[str, dict[str, str]] = {
    "en": {
        "language": "English",
        "surgery": "surgery",
        "visit": "appointment",
        "postpone": "has to be moved to another day",
        "cancel": "is cancelled",
        "say": "Hello, this is {hospital}. May I speak with {name}? Please confirm your date "
        "of birth. Your {what} on {when} with {who} {change} because our computer systems "
        "are down. We will call you with a new date. Are there days you cannot come? "
        "Questions: {phone}.",
        "voicemail": "Hello, this is {hospital} with a message for {name}. Please call us "
        "back about your appointment on {when}: {phone}. Thank you.",
    },
    "es": {
        "language": "Spanish",
        "surgery": "cirugía",
        "visit": "cita",
        "postpone": "tiene que cambiarse a otro día",
        "cancel": "está cancelada",
        "say": "Hola, le llamamos de {hospital}. ¿Puedo hablar con {name}? Por favor, "
        "confirme su fecha de nacimiento. Su {what} del {when} con {who} {change} porque "
        "nuestros sistemas informáticos no funcionan. Le llamaremos con una nueva fecha. "
        "¿Hay días en que no puede venir? Preguntas: {phone}.",
        "voicemail": "Hola, le llamamos de {hospital} con un mensaje para {name}. Por favor, "
        "llámenos sobre su cita del {when}: {phone}. Gracias.",
    },
    "fr": {
        "language": "French",
        "surgery": "opération",
        "visit": "rendez-vous",
        "postpone": "doit être reporté(e) à un autre jour",
        "cancel": "est annulé(e)",
        "say": "Bonjour, ici {hospital}. Puis-je parler à {name} ? Veuillez confirmer votre "
        "date de naissance. Votre {what} du {when} avec {who} {change} car nos systèmes "
        "informatiques sont en panne. Nous vous rappellerons avec une nouvelle date. Y a-t-il "
        "des jours où vous ne pouvez pas venir ? Questions : {phone}.",
        "voicemail": "Bonjour, ici {hospital}, un message pour {name}. Merci de nous rappeler "
        "au sujet de votre rendez-vous du {when} : {phone}. Merci.",
    },
}


@dataclass(frozen=True, slots=True)
class ToCall:
    row: Triaged
    say: str
    voicemail: str
    language: str  # the language the script is in ("English")
    interpreter: str  # "" or "Interpreter: Vietnamese (no script in that language)"
    calls: tuple[Call, ...]

    @property
    def last(self) -> Call | None:
        return self.calls[-1] if self.calls else None

    @property
    def unavailable_days(self) -> tuple[date, ...]:
        return tuple(sorted({d for c in self.calls for d in c.unavailable_days}))


@dataclass(frozen=True, slots=True)
class CallList:
    title: str  # "Cardiology Clinic" or "Surgeon: Dr Ana Diaz"
    key: str
    people: tuple[ToCall, ...]

    @property
    def done(self) -> int:
        return sum(1 for p in self.people if p.last is not None and p.last.outcome != "no-answer")


WHEN = {  # the date as each language writes it
    "en": "{weekday} {day} {month} at {time}",
    "es": "{weekday} {day} de {month} a las {time}",
    "fr": "{weekday} {day} {month} à {time}",
}
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}


def _when(dt: datetime, tz: tzinfo, lang: str = "en") -> str:
    local = dt.astimezone(tz)
    return WHEN[lang].format(
        weekday=WEEKDAYS[lang][local.weekday()],
        day=local.day,
        month=MONTHS[lang][local.month - 1],
        time=f"{local:%H:%M}",
    )


def script_for(row: Triaged, tz: tzinfo, hospital: str, phone: str) -> tuple[str, str, str, str]:
    """(what to say, the voicemail, the script's language, the interpreter note)."""
    p = row.item.patient
    primary = p.language.split("-")[0].lower()
    script = SCRIPTS.get(primary)
    interpreter = ""
    if script is None:
        primary, script = "en", SCRIPTS["en"]
        if p.language or p.language_text:
            named = p.language_text or p.language
            interpreter = f"Interpreter: {named} (no script in that language)"
    values = {
        "hospital": hospital,
        "name": p.name,
        "what": script[row.item.kind],
        "when": _when(row.item.start, tz, primary),
        "who": row.item.provider.name,
        "change": script["cancel" if row.decision == "cancel" else "postpone"],
        "phone": phone,
    }
    return (
        script["say"].format(**values),
        script["voicemail"].format(**values),
        script["language"],
        interpreter,
    )


def call_lists(
    rows: Iterable[Triaged],
    calls: Mapping[str, Sequence[Call]],
    tz: tzinfo,
    hospital: str = "the hospital",
    phone: str = "the number on your appointment letter",
) -> list[CallList]:
    """One list per clinic (visits) and per surgeon (surgeries), of the cases that move,
    by time; lists by title."""
    groups: dict[str, tuple[str, list[ToCall]]] = {}
    for r in rows:
        if not r.moves:
            continue
        if r.item.kind == "surgery":
            key, title = f"surgeon:{r.item.provider.id}", f"Surgeon: {r.item.provider.name}"
        else:
            key, title = f"clinic:{r.item.place_id}", r.item.place
        say, vm, lang, interp = script_for(r, tz, hospital, phone)
        groups.setdefault(key, (title, []))[1].append(
            ToCall(r, say, vm, lang, interp, tuple(calls.get(r.item.id, ())))
        )
    out = [
        CallList(title, key, tuple(sorted(people, key=lambda p: (p.row.item.start, p.row.item.id))))
        for key, (title, people) in groups.items()
    ]
    return sorted(out, key=lambda c: (not c.key.startswith("clinic:"), c.title))
