"""The sync plan: how to seed, which types to copy and how each is searched, and what the
source does not offer and what that costs (pure: from the settings and the source's
`ServerCapabilities` to data). `standby sync --plan` prints it; the runner follows it.

The seed (settings `sync_seed_mode`, default `auto`):

* `bulk` — Bulk Data `$export` where the server offers it (the fastest way to copy a
  whole EHR, https://hl7.org/fhir/uv/bulkdata/export.html);
* `search` — else one type-wide search per type, where the server allows searching a whole
  type (no search-parameter combination requiring a patient);
* `census` — else no seed of its own: the census rounds pull each census patient in full,
  per patient, before keeping them fresh.

An explicit `bulk`, `search` or `none` wins (the plan says it was asked for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from standby.sync.capabilities import ServerCapabilities

SEED_MODES = ("auto", "bulk", "search", "none")


@dataclass(frozen=True)
class TypePlan:
    resource_type: str
    shared: bool  # not tied to one patient
    how: str  # how it is searched, in words
    patient_param: str | None = None  # `patient` or `subject` (patient data only)


@dataclass(frozen=True)
class SyncPlan:
    seed: str  # bulk | search | census | none
    seed_reason: str
    export_level: str | None
    mode: str  # census | type (the rounds after the seed)
    types: tuple[TypePlan, ...]
    unavailable: tuple[tuple[str, str], ...]  # (what the source does not offer, its cost)
    capabilities_known: bool
    problem: str | None = None  # why the capabilities could not be read
    software: str | None = None
    warnings: tuple[str, ...] = field(default=())
    #: whether the source searches Encounters by `location` (an edge node's census)
    encounter_location: bool = True

    @property
    def patient_types(self) -> tuple[str, ...]:
        return tuple(t.resource_type for t in self.types if not t.shared)

    @property
    def shared_types(self) -> tuple[str, ...]:
        return tuple(t.resource_type for t in self.types if t.shared)

    def patient_params(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (t.resource_type, t.patient_param) for t in self.types if t.patient_param is not None
        )

    def summary(self) -> str:
        """One line for logs and `standby status`."""
        return f"{self.seed}: {self.seed_reason}"

    def lines(self) -> list[str]:
        """The plan in words (`standby sync --plan`)."""
        out = []
        if self.capabilities_known:
            out.append(f"source: CapabilityStatement read ({self.software or 'unnamed server'})")
        else:
            out.append(f"source: capabilities UNKNOWN ({self.problem}); assuming it offers all")
        level = f" ({self.export_level} level)" if self.seed == "bulk" and self.export_level else ""
        out.append(f"seed: {self.seed}{level} — {self.seed_reason}")
        out.append(f"rounds: {self.mode} mode")
        out.append(f"types copied ({len(self.types)}):")
        for t in self.types:
            out.append(f"  {t.resource_type:<26}{t.how}")
        if self.unavailable:
            out.append("not offered by the source, and what that costs:")
            for what, cost in self.unavailable:
                out.append(f"  {what}: {cost}")
        else:
            out.append("not offered by the source: nothing that Standby uses")
        for w in self.warnings:
            out.append(f"warning: {w}")
        return out


def _export_level(caps: ServerCapabilities, wanted: str) -> str | None:
    if not caps.known or wanted in caps.export_levels:
        return wanted
    for level in ("system", "patient"):
        if level in caps.export_levels:
            return level
    return None


def make_plan(
    caps: ServerCapabilities,
    *,
    seed_mode: str,
    sync_mode: str,
    patient_types: Sequence[str],
    shared_types: Sequence[str],
    export_level: str = "system",
    horizon_days: float = 2.0,
) -> SyncPlan:
    """The plan for a source offering `caps`, from the settings."""
    if seed_mode not in SEED_MODES:
        raise ValueError(f"unknown seed mode {seed_mode!r}: use {', '.join(SEED_MODES)}")
    types: list[TypePlan] = []
    unavailable: list[tuple[str, str]] = []
    warnings: list[str] = []
    missing = [t for t in (*patient_types, *shared_types) if not caps.can_search(t)]
    for rtype in patient_types:
        if rtype in missing:
            continue
        param = "_id" if rtype == "Patient" else caps.patient_param(rtype)
        if param is None:
            missing.append(rtype)
            continue
        how = f"per census patient ({param}=Patient/<id>)" if rtype != "Patient" else "_id=<id>"
        if sync_mode == "type" and caps.type_wide(rtype):
            how = "type-wide by _lastUpdated"
        types.append(TypePlan(rtype, False, how, None if rtype == "Patient" else param))
    for rtype in shared_types:
        if rtype in missing:
            continue
        if not caps.type_wide(rtype):
            missing.append(rtype)
            continue
        types.append(TypePlan(rtype, True, "type-wide by _lastUpdated"))
    if missing:
        unavailable.append(
            (
                "search of " + ", ".join(sorted(missing)),
                "not copied: the replica will not hold these types",
            )
        )
    not_type_wide = [t.resource_type for t in types if not caps.type_wide(t.resource_type)]
    level = _export_level(caps, export_level) if caps.export else None
    if not caps.export:
        unavailable.append(
            (
                "Bulk Data $export",
                "the seed is made by search (one search per type, or per census patient):"
                " slower on a large EHR",
            )
        )
    if not_type_wide:
        unavailable.append(
            (
                "type-wide search of " + ", ".join(sorted(not_type_wide)),
                "only census patients are copied (inpatients, the ED, surgeries and visits"
                f" in the next {horizon_days:g} days): anyone else is not in the replica",
            )
        )
    if (
        caps.known
        and not caps.system_history
        and not any(caps.history(t.resource_type) for t in types)
    ):
        unavailable.append(
            (
                "_history",
                "deletes at the source are not seen through history: they arrive only by"
                " reconciliation (docs/sync.md#deletes), later",
            )
        )
    if sync_mode == "type" and not_type_wide:
        warnings.append(
            "--mode type asked, but the source does not search "
            + ", ".join(sorted(not_type_wide))
            + " type-wide: those searches will fail; use --mode census"
        )
    seed, reason = _choose_seed(caps, seed_mode, level, not_type_wide)
    if seed == "bulk" and caps.known and not caps.export:
        warnings.append("the seed by $export was asked for, but the source does not offer it")
    if seed == "search" and not_type_wide:
        warnings.append("the seed by search was asked for, but some types need a patient")
    return SyncPlan(
        seed=seed,
        seed_reason=reason,
        export_level=level if seed == "bulk" else None,
        mode=sync_mode,
        types=tuple(types),
        unavailable=tuple(unavailable),
        capabilities_known=caps.known,
        problem=caps.problem,
        software=caps.software,
        warnings=tuple(warnings),
        encounter_location=caps.searches("Encounter", "location"),
    )


def _choose_seed(
    caps: ServerCapabilities, seed_mode: str, level: str | None, not_type_wide: Sequence[str]
) -> tuple[str, str]:
    if seed_mode != "auto":
        return seed_mode, f"asked for (--seed-mode or STANDBY_SYNC_SEED_MODE {seed_mode})"
    if not caps.known:
        return "bulk", "the source's capabilities could not be read: trying Bulk Data $export"
    if level is not None:
        return "bulk", f"the source offers Bulk Data $export ({level} level)"
    if not not_type_wide:
        return "search", "no $export offered; every type can be searched type-wide"
    return (
        "census",
        "no $export offered, and the source searches patient data only per patient:"
        " the census rounds pull each census patient in full",
    )
