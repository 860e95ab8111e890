"""Standby: keeps a hospital caring for patients when its EHR goes down."""

__version__ = "0.1.0"
