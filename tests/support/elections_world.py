"""A migrated database holding the guides' practices and people, the 2019 and 2022 demo
determinations (plus an APM entity and a virtual group), built once per database kind and
cloned for each test (SQLite: a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE), so every
test starts from the same world without paying for the determinations again."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from openqpp.batch.demo import CLINICIANS, GREENVILLE_PODIATRY, MIAMI_MEDICAL, demo_npi
from openqpp.cli import app
from openqpp.core.access import OrganisationType
from openqpp.policy import load_policy
from openqpp.services import access, database
from openqpp.settings import get_settings
from tests.conftest import _database_kinds, _postgres_url
from tests.support.access_world import principal as principal_of

PASSWORD = "correct horse battery staple"
EASTERN = dt.timezone(dt.timedelta(hours=-4))
NOW_2022 = dt.datetime(2023, 3, 19, 20, 0, tzinfo=EASTERN)
"""Inside the 2022 window: "closes in 12 days, March 31 at 8:00 PM ET"."""
NOW_2019 = dt.datetime(2020, 2, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
"""Inside the 2019 window (EST)."""

DEBARA = CLINICIANS[0].npi
"""Debara Jones at Miami Medical: opt-in eligible as an individual (the group is eligible)."""
RIVERA = CLINICIANS[1].npi
"""MIPS eligible as an individual at Miami Medical."""
GREEN = CLINICIANS[2].npi
"""Alex Green at Greenville Podiatry: opt-in eligible as an individual and as the group."""
MORGAN = CLINICIANS[3].npi
"""Exempt at Miami Medical."""
LAKESIDE = "555000111"
"""An opt-in eligible practice listed in virtual group VG-2019-001."""
LAKESIDE_NPI = demo_npi("167000123")
APM_ENTITY = "A1234"
"""Sunshine ACO: Alex Green participates; opt-in eligible as an APM entity in 2019."""
VIRTUAL_GROUP = "VG-2019-001"

USERS = (
    ("maria.garcia", "Maria Garcia", "security_official", "practice", MIAMI_MEDICAL),
    ("sam.smith", "Sam Smith", "staff_user", "practice", MIAMI_MEDICAL),
    ("sam.smith", "Sam Smith", "staff_user", "practice", GREENVILLE_PODIATRY),
    ("lee.wong", "Lee Wong", "security_official", "practice", GREENVILLE_PODIATRY),
    ("debara.jones", "Debara Jones", "clinician", "practice", MIAMI_MEDICAL),
    ("dana.lake", "Dana Lake", "security_official", "practice", LAKESIDE),
    ("alex.chen", "Alex Chen", "security_official", "registry", "AAN-QCDR"),
    ("jordan.rivera", "Jordan Rivera", "staff_user", "registry", "AAN-QCDR"),
    ("olga.other", "Olga Other", "security_official", "registry", "OTHER-QR"),
    ("pat.kim", "Pat Kim", "security_official", "virtual_group", VIRTUAL_GROUP),
    ("morgan.ellis", "Morgan Ellis", "security_official", "apm_entity", APM_ENTITY),
)
ORGANISATIONS = (
    (OrganisationType.PRACTICE, MIAMI_MEDICAL, "Miami Medical", "213 Miami Ln., Miami, FL 01234"),
    (
        OrganisationType.PRACTICE,
        GREENVILLE_PODIATRY,
        "Greenville Podiatry",
        "5200 Manchester Ln., Greenville, OH 01234",
    ),
    (OrganisationType.PRACTICE, LAKESIDE, "Lakeside Clinic", "1 Lake Rd., Akron, OH 44301"),
    (OrganisationType.REGISTRY, "AAN-QCDR", "American Academy of Neurology", None),
    (OrganisationType.REGISTRY, "OTHER-QR", "Other Registry", None),
    (OrganisationType.VIRTUAL_GROUP, VIRTUAL_GROUP, "Gulf Coast Virtual Group", None),
    (OrganisationType.APM_ENTITY, APM_ENTITY, "Sunshine ACO", None),
)
CLIENTS = (
    # registry, practice, year, NPI (None: the whole practice)
    ("AAN-QCDR", MIAMI_MEDICAL, 2019, None),
    ("AAN-QCDR", MIAMI_MEDICAL, 2022, None),
    ("AAN-QCDR", GREENVILLE_PODIATRY, 2022, GREEN),
)


def _append_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerows(rows)


def write_world_claims(out: Path, year: int) -> Path:
    """The guides' demo claims plus Lakeside Clinic (opt-in eligible, in a virtual group) and
    Sunshine ACO's participation list (Alex Green)."""
    from openqpp.batch.demo import write_demo_claims

    policy = load_policy(year)
    write_demo_claims(out, policy)
    rows = []
    claim = 0
    total = Decimal("95000.00")
    services = 180
    cents = int(total * 100)
    base, extra = divmod(cents, services)
    for segment in policy.eligibility.determination_period.segments:
        for line in range(services):
            claim += 1
            amount = Decimal(base + (1 if line < extra else 0)) / 100
            day = segment.start + dt.timedelta(days=(line * 3) % 300)
            rows.append(
                [
                    f"L{segment.number}{claim:08d}", "1", LAKESIDE, LAKESIDE_NPI,
                    f"BL{line % 150:05d}", day.isoformat(), day.isoformat(), f"{amount:.2f}",
                    "99213", "11", "true", "true", "",
                ]
            )  # fmt: skip
    _append_rows(out / "claim_lines.csv", rows)
    _append_rows(
        out / "clinicians.csv",
        [[LAKESIDE_NPI, "physician", "08", "2010-02-01", "Lena", "Lake"]],
    )
    (out / "apm_participation.csv").write_text(
        "apm_entity_id,apm_model,tin,npi,snapshot_date,mips_apm,advanced_apm\n"
        f"{APM_ENTITY},Medicare Shared Savings Program,{GREENVILLE_PODIATRY},{GREEN},"
        f"{year}-03-31,true,false\n",
        encoding="utf-8",
    )
    (out / "virtual_groups.csv").write_text(
        f"virtual_group_id,tin\n{VIRTUAL_GROUP},{LAKESIDE}\n", encoding="utf-8"
    )
    return out


def build(url: str, tmp: Path) -> None:
    database.upgrade(url)
    factory = database.session_factory(url)
    with factory.begin() as session:
        for kind, identifier, name, address in ORGANISATIONS:
            access.create(
                session,
                kind=kind,
                identifier=identifier,
                name=name,
                address=address,
                registry_type="qcdr" if kind is OrganisationType.REGISTRY else None,
                apm_model="Medicare Shared Savings Program"
                if kind is OrganisationType.APM_ENTITY
                else None,
            )
        made = set()
        for user_id, name, role, kind, identifier in USERS:
            if user_id not in made:
                access.create_user(
                    session,
                    user_id=user_id,
                    name=name,
                    email=f"{user_id}@example.org",
                    password=PASSWORD,
                )
                made.add(user_id)
            access.operator_grant(
                session, user_id=user_id, organisation_type=kind, identifier=identifier, role=role
            )
        for registry, tin, year, npi in CLIENTS:
            access.operator_authorise(
                session,
                practice_tin=tin,
                registry_vendor_id=registry,
                performance_year=year,
                evidence="test agreement",
                npi=npi,
            )
    for year in (2019, 2022):
        claims = write_world_claims(tmp / f"claims-{year}", year)
        result = CliRunner().invoke(
            app,
            [
                "eligibility", "determine", "--claims", str(claims), "--year", str(year),
                "--out", str(tmp / f"results-{year}.parquet"),
            ],
            env={"OPENQPP_DATABASE_URL": url, "COLUMNS": "200"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    get_settings.cache_clear()
    database.engine_for(url).dispose()


@dataclass
class World:
    url: str
    kind: str

    @property
    def factory(self) -> sessionmaker[Session]:
        return database.session_factory(self.url)

    def principal(self, user_id: str) -> access.Principal:
        with self.factory() as session:
            return principal_of(session, user_id)

    def api_token(
        self, user_id: str, kind: OrganisationType, identifier: str, *, label: str = "test"
    ) -> access.CreatedToken:
        """A new API token ``user_id`` creates for an organisation (its ``.token``, ``.info``)."""
        from openqpp.services import audit

        with self.factory.begin() as session:
            return access.create_token(
                session,
                principal=self.principal(user_id),
                organisation_type=kind,
                identifier=identifier,
                label=label,
                context=audit.RequestContext(),
            )

    def bearer(self, user_id: str, kind: OrganisationType, identifier: str) -> dict[str, str]:
        """The Authorization header of a new API token ``user_id`` creates for an organisation."""
        return {"Authorization": f"Bearer {self.api_token(user_id, kind, identifier).token}"}


class Templates:
    """One built world per database kind, made when first asked for."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.urls: dict[str, str] = {}
        self.pg_names: list[str] = []

    def template(self, kind: str) -> str:
        if kind not in self.urls:
            if kind == "sqlite":
                url = f"sqlite:///{self.tmp / 'world-template.db'}"
                build(url, self.tmp / "sqlite")
                engine = create_engine(url)
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                engine.dispose()
            else:
                base = make_url(_postgres_url() or "")
                name = f"openqpp_tpl_{uuid.uuid4().hex[:10]}"
                admin = create_engine(base, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
                self.pg_names.append(name)
                url = base.set(database=name).render_as_string(hide_password=False)
                build(url, self.tmp / "postgresql")
                database.engine_for.cache_clear()
            self.urls[kind] = url
        return self.urls[kind]

    def clone(self, kind: str, tmp: Path) -> Iterator[str]:
        template = self.template(kind)
        if kind == "sqlite":
            path = tmp / "world.db"
            shutil.copyfile(make_url(template).database or "", path)
            yield f"sqlite:///{path}"
            return
        base = make_url(_postgres_url() or "")
        name = f"openqpp_t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"')
            )
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            database.engine_for.cache_clear()
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    def close(self) -> None:
        if not self.pg_names:
            return
        admin = create_engine(make_url(_postgres_url() or ""), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in self.pg_names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


KINDS = _database_kinds()


@pytest.fixture(scope="session")
def world_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("election-world"))
    yield templates
    templates.close()


@pytest.fixture(params=KINDS)
def world(
    request: pytest.FixtureRequest, world_templates: Templates, tmp_path: Path
) -> Iterator[World]:
    """A fresh copy of the elections world on each database kind under test."""
    for url in world_templates.clone(request.param, tmp_path):
        yield World(url, request.param)
