"""The FHIR API's fixtures live in `support.fhir_api`."""

from support.fhir_api import api_site, pg_api_site

__all__ = ["api_site", "pg_api_site"]
