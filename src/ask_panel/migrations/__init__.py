"""Alembic migrations of the service's schema, shipped inside the package."""
