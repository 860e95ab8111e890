"""Fixtures of the schedule tests: a fresh store of each engine per test."""

from support.store_engines import pg_schema, store  # noqa: F401
