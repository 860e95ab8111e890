"""Patients and staff: Patient (MRN, name, birth date, sex, address, phones), Practitioner
(NPI) and PractitionerRole (attending, surgeon, anesthesiologist, nurse, clinic physician).

https://hl7.org/fhir/R4/patient.html, https://hl7.org/fhir/R4/practitionerrole.html.
Names are diverse and include accented ones (José Núñez) and, on purpose, patients who
share a name (two John Smiths with different birth dates and MRNs): the viewer must tell
them apart by MRN and date of birth.
"""

from __future__ import annotations

from dataclasses import dataclass

from standby.sim.generate import codes as c
from standby.sim.generate.context import DAY, JSON, Ctx, date_of, ref
from standby.sim.generate.locations import ORG_ID

MALE = [
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "José",
    "Luis",
    "Carlos",
    "Wei",
    "Hiroshi",
    "Mohammed",
    "Ahmed",
    "Omar",
    "Raj",
    "Arjun",
    "Kwame",
    "Chinedu",
    "Dmitri",
    "Ivan",
    "Lukas",
    "Björn",
    "Søren",
    "François",
    "Jean-Luc",
    "Mateo",
    "Santiago",
    "Diego",
    "Liam",
    "Noah",
    "Ethan",
    "Elijah",
    "Darnell",
    "Tyrone",
    "Minh",
    "Quang",
    "Thanh",
    "Kenji",
    "Andrés",
    "Sean",
    "Patrick",
    "Tomás",
    "Joaquín",
    "Emeka",
    "Yusuf",
    "Ali",
    "Hamza",
    "Nikolai",
    "Pedro",
]
FEMALE = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Susan",
    "María",
    "Ana",
    "Lucía",
    "Sofía",
    "Mei",
    "Yuki",
    "Aisha",
    "Fatima",
    "Priya",
    "Ananya",
    "Ama",
    "Ngozi",
    "Olga",
    "Anastasia",
    "Zoë",
    "Chloé",
    "Siobhán",
    "Renée",
    "Inés",
    "Camila",
    "Valentina",
    "Isabella",
    "Emma",
    "Olivia",
    "Ava",
    "Keisha",
    "Latoya",
    "Lan",
    "Huong",
    "Sakura",
    "Ximena",
    "Noémie",
    "Ingrid",
    "Astrid",
    "Leilani",
    "Grace",
    "Hannah",
    "Ruth",
    "Esther",
    "Amélie",
    "Élodie",
    "Beatriz",
]
FAMILY = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "García",
    "Miller",
    "Davis",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Pérez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Clark",
    "Ramírez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Nguyễn",
    "Trần",
    "Kim",
    "Park",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Patel",
    "Shah",
    "Singh",
    "Kumar",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Müller",
    "Schröder",
    "Novák",
    "Kowalski",
    "Ivanova",
    "Petrov",
    "O'Brien",
    "O'Connor",
    "MacDonald",
    "Núñez",
    "Peña",
    "Muñoz",
    "Gómez",
    "Díaz",
    "Álvarez",
    "Jiménez",
    "Castillo",
    "Haddad",
    "Nasser",
    "Yamamoto",
    "Tanaka",
    "Sato",
    "Nakamura",
    "Cohen",
    "Levi",
    "Friedman",
    "Rossi",
    "Bianchi",
    "Ferreira",
    "Silva",
    "Santos",
    "Costa",
    "Dubois",
    "Lefèvre",
    "Johansson",
    "Andersson",
    "Nielsen",
    "Hansen",
    "Björk",
    "Washington",
    "Jefferson",
]
STREETS = [
    "Maple",
    "Oak",
    "Elm",
    "Cedar",
    "Pine",
    "Lincoln",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Jefferson",
    "Madison",
    "Main",
    "Church",
    "Mill",
    "River",
    "Spring",
    "Walnut",
    "Chestnut",
]
STREET_KINDS = ["St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd"]
CITIES = [
    ("Springfield", "IL", "627"),
    ("Chatham", "IL", "626"),
    ("Rochester", "IL", "626"),
    ("Sherman", "IL", "626"),
    ("Auburn", "IL", "626"),
    ("Decatur", "IL", "625"),
    ("Jacksonville", "IL", "626"),
    ("Lincoln", "IL", "626"),
]
# Duplicate names that must stay told apart (family, given, gender).
DUPLICATES = [
    ("Smith", "John", "male"),
    ("Smith", "John", "male"),
    ("García", "María", "female"),
    ("García", "María", "female"),
    ("Núñez", "José", "male"),
    ("Nguyễn", "Lan", "female"),
]


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str  # "Given Family"
    gender: str
    birth: int  # epoch seconds (midnight)


def npi_check_digit(base: str) -> str:
    """Luhn check digit of a 9-digit NPI base, with the 80840 prefix CMS specifies."""
    total = 0
    for i, ch in enumerate(reversed("80840" + base)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def npi(n: int) -> str:
    """The n-th synthetic NPI: 10 digits, starting with 1, with a valid check digit."""
    base = f"1{n:08d}"
    return base + npi_check_digit(base)


def _phone(ctx: Ctx) -> str:
    r = ctx.rng.randrange
    return f"+1-217-{r(200, 999)}-{r(1000, 9999)}"


def make_patient(
    ctx: Ctx,
    *,
    age_range: tuple[int, int] = (18, 95),
    gender: str | None = None,
    name: tuple[str, str] | None = None,
    created: int | None = None,
) -> Person:
    """Write one Patient and return who it is."""
    rng = ctx.rng
    pid = ctx.id("pt")
    gender = gender or ("female" if rng.random() < 0.52 else "male")
    if name is None:
        given = rng.choice(FEMALE if gender == "female" else MALE)
        family = rng.choice(FAMILY)
    else:
        family, given = name
    # whole calendar years: at least min on the day, still max a week from now
    age_days = rng.randrange(int(age_range[0] * 365.25) + 2, int((age_range[1] + 1) * 365.25) - 9)
    birth = ctx.today - age_days * DAY
    city, state, zip3 = rng.choice(CITIES)
    telecom = [{"system": "phone", "value": _phone(ctx), "use": "home"}]
    if rng.random() < 0.6:
        telecom.append({"system": "phone", "value": _phone(ctx), "use": "mobile"})
    mrn = f"{10000000 + int(pid[2:]) * 7 % 9000000 + int(pid[2:]) // 9000000}"
    given_list = [given]
    if rng.random() < 0.3:
        given_list.append(rng.choice(FEMALE if gender == "female" else MALE))
    ctx.emit(
        {
            "resourceType": "Patient",
            "id": pid,
            "meta": ctx.meta(created if created is not None else ctx.now - 30 * DAY),
            "identifier": [
                {"use": "usual", "type": c.MRN_TYPE, "system": c.MRN_SYSTEM, "value": mrn}
            ],
            "active": True,
            "name": [{"use": "official", "family": family, "given": given_list}],
            "telecom": telecom,
            "gender": gender,
            "birthDate": date_of(birth),
            "address": [
                {
                    "use": "home",
                    "line": [
                        f"{rng.randrange(1, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
                    ],
                    "city": city,
                    "state": state,
                    "postalCode": f"{zip3}{rng.randrange(0, 100):02d}",
                    "country": "US",
                }
            ],
            "managingOrganization": ref("Organization", ORG_ID),
        }
    )
    return Person(pid, f"{given} {family}", gender, birth)


@dataclass(frozen=True, slots=True)
class Staff:
    id: str
    display: str  # "Dr. Anna Lee"
    role: str  # key of codes.ROLES


def make_staff(ctx: Ctx, role: str, specialty: str, locations: list[str], n: int) -> list[Staff]:
    """Write `n` Practitioners with one PractitionerRole each."""
    rng = ctx.rng
    out = []
    for _ in range(n):
        pid = ctx.id("pr")
        gender = "female" if rng.random() < 0.5 else "male"
        given = rng.choice(FEMALE if gender == "female" else MALE)
        family = rng.choice(FAMILY)
        nurse = role == "nurse"
        display = f"{given} {family}, RN" if nurse else f"Dr. {given} {family}"
        name: JSON = {"use": "official", "family": family, "given": [given]}
        name["suffix" if nurse else "prefix"] = ["RN"] if nurse else ["Dr."]
        created = ctx.now - rng.randrange(200, 2000) * DAY
        ctx.emit(
            {
                "resourceType": "Practitioner",
                "id": pid,
                "meta": ctx.meta(created),
                "identifier": [{"type": c.NPI_TYPE, "system": c.NPI, "value": npi(int(pid[2:]))}],
                "active": True,
                "name": [name],
                "telecom": [{"system": "phone", "value": _phone(ctx), "use": "work"}],
                "gender": gender,
            }
        )
        ctx.emit(
            {
                "resourceType": "PractitionerRole",
                "id": f"{pid}-role",
                "meta": ctx.meta(created),
                "active": True,
                "practitioner": ref("Practitioner", pid, display),
                "organization": ref("Organization", ORG_ID),
                "code": [c.ROLES[role]],
                "specialty": [c.SPECIALTY[specialty]],
                "location": [ref("Location", loc) for loc in locations],
            }
        )
        out.append(Staff(pid, display, role))
    return out
