"""Surgeries and clinic visits during an EHR outage (docs/schedule.md): which to proceed
with, on paper or not, which to postpone or cancel (`triage`, rules in TOML: `rules`);
whom to call (`contacts`); where to rebook what was postponed (`rebook`, OR-Tools CP-SAT
beside a greedy first fit). The decisions are pure functions of plain data; `items` reads
the replica and `repository` keeps the scheduler's overrides, the OR desk's availability,
call outcomes and accepted proposals.
"""
