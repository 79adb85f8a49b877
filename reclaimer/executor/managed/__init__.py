"""Managed stop for KServe without native stop, one module per deployment mode.

What each mode does and why is in docs/managed-stop.md.
"""
