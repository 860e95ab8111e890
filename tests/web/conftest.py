"""The viewer's fixtures live in `web_site` (a uniquely named module, so tests import its
helpers without colliding with other folders' conftest modules)."""

from web_site import (
    fast_hashes,
    hospital,
    hospital_db,
    hospital_ndjson,
    mini_site,
    pg_hospital,
    pg_hospital_template,
    pg_mini_site,
)

__all__ = [
    "fast_hashes",
    "hospital",
    "hospital_db",
    "hospital_ndjson",
    "mini_site",
    "pg_hospital",
    "pg_hospital_template",
    "pg_mini_site",
]
