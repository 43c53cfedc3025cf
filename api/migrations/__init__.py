"""Alembic migrations of the job store (run by ``api.store.migrate``; packaged with the wheel)."""
