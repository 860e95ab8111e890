"""Each entry's FHIR resources as the read model shows them, made when the entry is written
(docs/journal.md#speed-with-weeks-of-entries).

`convert` is the one conversion (pure): `fhir_mapping.to_fhir` with the read model's
local ids (`journal-<uuid>`) and a `meta` stamped with the time it was recorded.
`stored_form` is its JSON text, which `repository.append` writes in the entry's own row,
in the same transaction (columns `mapping` and `resources`), so it can never disagree
with the entry: the journal is append-only, a correction or a strike is an entry of its
own with its own conversion, and what stands is decided at every view from the entries
(`repository.in_effect`). A view then parses the stored text instead of converting
(a freshly started viewer's first view converted every entry it showed).

`MAPPING` names the mapping's version: a row converted by another version (or written
before the column existed: NULL) is converted afresh when read, never shown as stored.
Raise it whenever a change to `fhir_mapping` or `convert` changes what an entry becomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from standby.clock import instant
from standby.journal.entries import Entry
from standby.journal.fhir_mapping import JOURNAL_ID_PREFIX, URI_SYSTEM, Subject, to_fhir

JSON = dict[str, Any]
MAPPING = 1  # the version of what `convert` makes (stored beside it)


def local_id(resource: Mapping[str, Any]) -> str:
    """ "journal-<uuid>" from the resource's entry identifier."""
    for ident in resource.get("identifier") or []:
        if ident.get("system") == URI_SYSTEM:
            return JOURNAL_ID_PREFIX + str(ident["value"]).removeprefix("urn:uuid:")
    raise ValueError("a journal resource carries its entry's identifier")


def convert(e: Entry) -> list[JSON]:
    """The resources of one entry with local ids, as the read model shows them."""
    out = []
    for r in to_fhir(e, Subject.local(e)):
        r["id"] = local_id(r)
        r["meta"] = {
            **r.get("meta", {}),
            "versionId": "1",
            "lastUpdated": instant(e.recorded_at),
        }
        out.append(r)
    return out


def stored_form(e: Entry) -> str | None:
    """`convert(e)` as the JSON text written beside the entry; None when the text would
    not read back equal (then nothing is stored, and views convert the entry)."""
    made = convert(e)
    raw = orjson.dumps(made)
    if orjson.loads(raw) != made:
        return None
    return raw.decode()
