"""A world for the fault tests (tests/faults): one large practice whose 1,000 clinicians are each
opt-in eligible as individuals in performance year 2022, a registry the practice authorised for
the year (a user who signs in to its pages, an API token), built through the real services:
claims CSV -> the DuckDB batch -> ``eligibility.record_run``. Built once per database kind and
cloned for each test, as the elections world is."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from openqpp.batch.demo import CLAIM_COLUMNS, demo_npi
from openqpp.batch.volumes import compute
from openqpp.core.access import OrganisationType
from openqpp.policy import load_policy
from openqpp.services import access, audit, database, eligibility
from tests.conftest import _postgres_url
from tests.support.access_world import principal as principal_of

YEAR = 2022
CLOCK = "2023-03-19T20:00:00-04:00"
"""Inside the 2022 election window (it closes March 31, 2023 at 8:00 PM ET)."""
PRACTICE = "310000007"
PRACTICE_NAME = "Large Multispecialty Practice"
REGISTRY = "FAULT-QR"
USER = "reg.official"
PASSWORD = "correct horse battery staple"
CLINICIANS = 1_000
TOKEN_FILE = "registry-token.txt"


def npi(index: int) -> str:
    """The NPI of the practice's clinician number ``index`` (0-based)."""
    return demo_npi(f"17{index:07d}")


def entity_key(index: int) -> str:
    return f"{PRACTICE}/{npi(index)}"


def write_claims(out: Path, clinicians: int = CLINICIANS) -> Path:
    """Each clinician bills $100,000 for two services to two patients in each segment: over
    the allowed-charges threshold only, so opt-in eligible as an individual."""
    out.mkdir(parents=True, exist_ok=True)
    policy = load_policy(YEAR)
    with (out / "claim_lines.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CLAIM_COLUMNS)
        for segment in policy.eligibility.determination_period.segments:
            day = (segment.start + dt.timedelta(days=10)).isoformat()
            for index in range(clinicians):
                for line in (1, 2):
                    writer.writerow(
                        [
                            f"F{segment.number}{index:06d}", line, PRACTICE, npi(index),
                            f"P{index:06d}{line}", day, day, "50000.00", "99213", "11",
                            "true", "true", "",
                        ]
                    )  # fmt: skip
    with (out / "clinicians.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["npi", "clinician_type", "specialty_code", "first_enrolled", "first_name", "last_name"]
        )
        for index in range(clinicians):
            writer.writerow([npi(index), "physician", "08", "2010-01-01", "Clin", f"Ician{index}"])
    return out


def build(url: str, tmp: Path) -> str:
    """Migrate ``url`` and fill it; returns the registry's API token."""
    database.upgrade(url)
    factory = database.session_factory(url)
    with factory.begin() as session:
        access.create(
            session,
            kind=OrganisationType.PRACTICE,
            identifier=PRACTICE,
            name=PRACTICE_NAME,
            address="1 Main St., Columbus, OH 43004",
        )
        access.create(
            session,
            kind=OrganisationType.REGISTRY,
            identifier=REGISTRY,
            name="Fault Test Registry",
            registry_type="qualified_registry",
        )
        access.create_user(
            session,
            user_id=USER,
            name="Rae Official",
            email=f"{USER}@example.org",
            password=PASSWORD,
        )
        access.operator_grant(
            session,
            user_id=USER,
            organisation_type=OrganisationType.REGISTRY,
            identifier=REGISTRY,
            role="security_official",
        )
        access.operator_authorise(
            session,
            practice_tin=PRACTICE,
            registry_vendor_id=REGISTRY,
            performance_year=YEAR,
            evidence="fault test agreement",
        )
    with factory.begin() as session:
        token = access.create_token(
            session,
            principal=principal_of(session, USER),
            organisation_type=OrganisationType.REGISTRY,
            identifier=REGISTRY,
            label="fault tests",
            context=audit.RequestContext(),
        ).token
    policy = load_policy(YEAR)
    claims = write_claims(tmp / "claims")
    batch = compute(claims, policy)
    with factory.begin() as session:
        summary = eligibility.record_run(
            session,
            policy=policy,
            volumes=batch.volumes,
            refs=eligibility.ReferenceTables(**batch.references),
            engine="duckdb",
            source=str(claims),
            input_fingerprint="fault-world",
        )
    opt_in = summary.status_counts.get("individual", {}).get("opt_in_eligible", 0)
    assert opt_in == CLINICIANS, f"expected {CLINICIANS} opt-in eligible: {summary.status_counts}"
    database.engine_for(url).dispose()
    return token


@dataclass(frozen=True)
class FaultWorld:
    url: str
    kind: str
    token: str


class Templates:
    """One built world per database kind (made when first asked for), cloned per test."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.built: dict[str, tuple[str, str]] = {}
        self.pg_names: list[str] = []

    def template(self, kind: str) -> tuple[str, str]:
        if kind not in self.built:
            if kind == "sqlite":
                url = f"sqlite:///{self.tmp / 'fault-template.db'}"
                token = build(url, self.tmp / "sqlite")
                engine = create_engine(url)
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                engine.dispose()
            else:
                name = f"openqpp_tpl_{uuid.uuid4().hex[:10]}"
                url = _create_pg_database(name)
                self.pg_names.append(name)
                token = build(url, self.tmp / "postgresql")
                database.engine_for.cache_clear()
            self.built[kind] = (url, token)
        return self.built[kind]

    def clone(self, kind: str, tmp: Path) -> Iterator[FaultWorld]:
        template, token = self.template(kind)
        if kind == "sqlite":
            path = tmp / "fault-world.db"
            shutil.copyfile(make_url(template).database or "", path)
            yield FaultWorld(f"sqlite:///{path}", kind, token)
            return
        name = f"openqpp_t_{uuid.uuid4().hex[:12]}"
        url = _create_pg_database(name, template=make_url(template).database)
        try:
            yield FaultWorld(url, kind, token)
        finally:
            database.engine_for.cache_clear()
            _drop_pg_databases([name])

    def close(self) -> None:
        _drop_pg_databases(self.pg_names)


def _create_pg_database(name: str, template: str | None = None) -> str:
    base = make_url(_postgres_url() or "")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop_pg_databases(names: list[str]) -> None:
    if not names:
        return
    admin = create_engine(make_url(_postgres_url() or ""), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
