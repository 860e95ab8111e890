"""The monitor's fixtures live in `support.monitor_site`, beside the helpers the tests
import."""

from support.monitor_site import clock, site, store

__all__ = ["clock", "site", "store"]
