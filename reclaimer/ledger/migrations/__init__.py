"""Alembic migrations for the ledger, shipped inside the package so any install finds them."""
