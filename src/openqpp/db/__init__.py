"""Persistence: SQLAlchemy 2 typed models, the session factory and Alembic migrations."""
