"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from openqpp.db.models.organisations import Organisation, OrganisationKind

__all__ = ["Organisation", "OrganisationKind"]
