"""The hospital's Organization and Location tree: site → building → unit → room → bed,
the ED, the OR suite with its operating rooms, and the clinics (docs/data-model.md).

https://hl7.org/fhir/R4/location.html — `physicalType` si/bu/wi/ro/bd, `partOf` up the tree.
Unit sizes follow the bed count: a 20-bed clinic hospital has one med-surg unit and a
small ICU; a 1,000-bed hospital has ~30 units in two towers, step-down, cardiac, pediatric
and mother-baby units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from standby.sim.generate import codes as c
from standby.sim.generate.context import JSON, Ctx, ref
from standby.sim.generate.plausibility import CLINICS

ORG_ID = "org1"
ORG_NAME = "Standby General Hospital"


@dataclass
class Unit:
    id: str
    alias: str
    name: str
    kind: str  # v3-RoleCode: HU, ICU, CCU, PEDU, ER
    beds: list[tuple[str, str]] = field(default_factory=list)  # (Location id, display)


@dataclass
class Layout:
    site: str
    units: list[Unit]  # inpatient units
    ed: Unit
    ors: list[tuple[str, str]]  # (Location id, name)
    or_suite: str
    clinics: list[tuple[str, str, str]]  # (Location id, name, specialty key)


def _plan_units(beds: int) -> list[tuple[str, str, int]]:
    """(kind, label, beds) per unit; the beds add up to `beds`."""
    icu = max(2, round(beds * 0.10)) if beds >= 10 else 0
    step = round(beds * 0.08) if beds >= 100 else 0
    ccu = round(beds * 0.04) if beds >= 300 else 0
    peds = round(beds * 0.06) if beds >= 150 else 0
    ob = round(beds * 0.06) if beds >= 150 else 0
    medsurg = beds - icu - step - ccu - peds - ob
    plan: list[tuple[str, str, int]] = []
    for kind, label, total, size in (
        ("ICU", "Intensive Care Unit", icu, 16),
        ("CCU", "Cardiac Care Unit", ccu, 16),
        ("HU", "Step-Down Unit", step, 28),
        ("PEDU", "Pediatrics", peds, 28),
        ("HU", "Mother-Baby Unit", ob, 28),
        ("HU", "Medical-Surgical Unit", medsurg, 32),
    ):
        n = -(-total // size) if total else 0
        for i in range(n):
            plan.append((kind, label, total // n + (1 if i < total % n else 0)))
    return plan


def _location(
    ctx: Ctx, id: str, name: str, ptype: JSON, part_of: str | None, **extra: object
) -> JSON:
    loc: JSON = {
        "resourceType": "Location",
        "id": id,
        "meta": ctx.meta(ctx.now - 400 * 86400),
        "status": "active",
        "name": name,
        "mode": "instance",
        "physicalType": ptype,
        "managingOrganization": ref("Organization", ORG_ID),
    }
    loc.update(extra)
    if part_of:
        loc["partOf"] = ref("Location", part_of)
    ctx.emit(loc)
    return loc


def build_locations(ctx: Ctx, beds: int) -> Layout:
    """Write the Organization and every Location; return the layout the rest builds on."""
    ctx.emit(
        {
            "resourceType": "Organization",
            "id": ORG_ID,
            "meta": ctx.meta(ctx.now - 500 * 86400),
            "identifier": [{"system": c.HOSPITAL_SYSTEM, "value": "SGH"}],
            "active": True,
            "type": [
                c.cc(
                    "http://terminology.hl7.org/CodeSystem/organization-type",
                    "prov",
                    "Healthcare Provider",
                )
            ],
            "name": ORG_NAME,
            "telecom": [{"system": "phone", "value": "+1-555-010-0000", "use": "work"}],
            "address": [
                {
                    "line": ["1 Standby Way"],
                    "city": "Springfield",
                    "state": "IL",
                    "postalCode": "62701",
                    "country": "US",
                }
            ],
        }
    )
    site = "loc-site"
    _location(ctx, site, "Standby General Hospital campus", c.PT_SITE, None)
    buildings = ["Main Tower"] + (["North Pavilion"] if beds >= 150 else [])
    bld_ids = []
    for i, b in enumerate(buildings):
        bid = f"loc-bld{i + 1}"
        _location(ctx, bid, b, c.PT_BUILDING, site)
        bld_ids.append(bid)
    clinic_bld = "loc-bld-amb"
    _location(ctx, clinic_bld, "Ambulatory Care Center", c.PT_BUILDING, site)

    units: list[Unit] = []
    floor_wings: dict[str, int] = {}
    for n, (kind, label, count) in enumerate(_plan_units(beds)):
        bld = bld_ids[n % len(bld_ids)]
        if kind in ("ICU", "CCU"):
            idx = floor_wings.get(kind, 0) + 1
            floor_wings[kind] = idx
            alias = kind if idx == 1 else f"{kind}{idx}"
            floor = 2
        else:
            k = floor_wings.get("ward", 0)
            floor_wings["ward"] = k + 1
            floor, wing = 3 + k // 2, "WE"[k % 2]
            alias = f"{floor}{wing}"
        unit = Unit(f"loc-{alias.lower()}", alias, f"{alias} {label}", kind)
        _location(ctx, unit.id, unit.name, c.PT_WING, bld, alias=[alias], type=[c.UNIT_TYPES[kind]])
        _rooms(ctx, unit, count, floor, 1 if kind in ("ICU", "CCU") else 2)
        units.append(unit)

    ed = Unit("loc-ed", "ED", "Emergency Department", "ER")
    _location(ctx, ed.id, ed.name, c.PT_WING, bld_ids[0], alias=["ED"], type=[c.UNIT_TYPES["ER"]])
    _rooms(ctx, ed, max(4, round(beds * 0.06)), 1, 1)

    or_suite = "loc-or"
    _location(
        ctx,
        or_suite,
        "Operating Room Suite",
        c.PT_WING,
        bld_ids[0],
        alias=["OR"],
        type=[c.UNIT_TYPES["OR"]],
    )
    ors = []
    for i in range(max(1, round(beds / 40))):
        oid, name = f"loc-or{i + 1}", f"OR {i + 1}"
        _location(ctx, oid, name, c.PT_ROOM, or_suite, type=[c.UNIT_TYPES["OR"]])
        ors.append((oid, name))

    clinics = []
    for i in range(max(1, round(beds / 50))):
        rule = CLINICS[i % len(CLINICS)]
        name, spec = rule.name, rule.specialty
        if i >= len(CLINICS):
            name = f"{name} {i // len(CLINICS) + 1}"
        cid = f"loc-clinic{i + 1}"
        _location(
            ctx, cid, name, c.PT_WING, clinic_bld, alias=[f"CL{i + 1}"], type=[c.UNIT_TYPES["OF"]]
        )
        clinics.append((cid, name, spec))
    return Layout(site, units, ed, ors, or_suite, clinics)


def _rooms(ctx: Ctx, unit: Unit, beds: int, floor: int, per_room: int) -> None:
    room_no = floor * 100
    made = 0
    while made < beds:
        room_no += 1
        rid = f"{unit.id}-{room_no}"
        _location(ctx, rid, f"{unit.alias} {room_no}", c.PT_ROOM, unit.id)
        for k in range(min(per_room, beds - made)):
            label = f"{room_no}-{'AB'[k]}" if per_room > 1 else f"{room_no}"
            bid = f"{rid}-{'ab'[k]}"
            display = f"{unit.alias} {label}"
            _location(ctx, bid, display, c.PT_BED, rid)
            unit.beds.append((bid, display))
            made += 1
