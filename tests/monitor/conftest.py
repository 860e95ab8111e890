"""The monitor's fixtures live in `monitor_site` (a uniquely named module, so tests import
its helpers without colliding with other folders' conftest modules)."""

from monitor_site import clock, site, store

__all__ = ["clock", "site", "store"]
