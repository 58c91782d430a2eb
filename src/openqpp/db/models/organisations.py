"""Organisations: practices, registries, virtual groups and APM entities."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Enum, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openqpp.db.base import Base, UtcDateTime, utcnow


class OrganisationKind(enum.StrEnum):
    PRACTICE = "practice"
    REGISTRY = "registry"
    VIRTUAL_GROUP = "virtual_group"
    APM_ENTITY = "apm_entity"


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (UniqueConstraint("kind", "identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(
        Enum(
            OrganisationKind,
            name="organisation_kind",
            native_enum=False,
            length=20,
            values_callable=lambda kinds: [k.value for k in kinds],
        )
    )
    identifier: Mapped[str] = mapped_column(String(40))
    """TIN for a practice, vendor id for a registry, virtual group id, APM entity id."""
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    registry_type: Mapped[str | None] = mapped_column(String(20))
    """Registries only: ``qualified_registry`` or ``qcdr``."""
    apm_model: Mapped[str | None] = mapped_column(String(100))
    """APM entities only: the APM the entity takes part in (e.g. Shared Savings Program)."""
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
