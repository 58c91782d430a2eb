"""`openqpp access ...`: the operator's commands for organisations, users, roles and client
authorisations (the first Security Official of an organisation is granted here)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from openqpp.cli.common import console, with_user_errors
from openqpp.core.access import Invalid
from openqpp.services import access, database
from openqpp.settings import get_settings

app = typer.Typer(
    help="Organisations, users, roles and client authorisations (operator).", no_args_is_help=True
)
org_app = typer.Typer(help="Organisations: practices, registries, virtual groups, APM entities.")
user_app = typer.Typer(help="Local user accounts.")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")

URL_OPTION = typer.Option(None, "--url", help="Database URL (default: OPENQPP_DATABASE_URL).")


def _factory(url: str | None):  # type: ignore[no-untyped-def]
    return database.session_factory(url or get_settings().database_url)


def _expiry(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{raw!r} is not a date.", fix="Use YYYY-MM-DD.") from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@org_app.command("add")
@with_user_errors
def org_add(
    kind: str = typer.Argument(..., help="practice, registry, virtual_group or apm_entity."),
    identifier: str = typer.Argument(..., help="TIN, vendor ID, virtual group ID or APM ID."),
    name: str = typer.Argument(..., help="The organisation's name."),
    address: str = typer.Option(None, help="Postal address (practices)."),
    registry_type: str = typer.Option(None, help="qualified_registry or qcdr (registries)."),
    apm_model: str = typer.Option(None, help="The APM, e.g. 'Medicare Shared Savings Program'."),
    url: str = URL_OPTION,
) -> None:
    """Register an organisation (nothing changes when it is there already)."""
    with _factory(url).begin() as session:
        org = access.create(
            session,
            kind=access.organisation_type(kind),
            identifier=identifier,
            name=name,
            address=address,
            registry_type=registry_type,
            apm_model=apm_model,
        )
    console.print(f"[green]✓[/] {org.kind_label} {org.identifier} {org.name} (id {org.id})")


@org_app.command("list")
@with_user_errors
def org_list(url: str = URL_OPTION) -> None:
    """List the organisations on this server."""
    with _factory(url)() as session:
        orgs = access.list_all(session)
    table = Table(title="Organisations")
    for column in ("type", "identifier", "name", "address / model"):
        table.add_column(column)
    for org in orgs:
        table.add_row(org.kind_label, org.identifier, org.name, org.address or org.apm_model or "")
    console.print(table)


@user_app.command("add")
@with_user_errors
def user_add(
    user_id: str = typer.Argument(..., help="What the person types to sign in."),
    name: str = typer.Option(..., help="Full name."),
    email: str = typer.Option(..., help="E-mail address."),
    url: str = URL_OPTION,
) -> None:
    """Create a user with a random password, printed once here (give it to the person)."""
    password = access.generate_password()
    with _factory(url).begin() as session:
        user = access.create_user(
            session, user_id=user_id, name=name, email=email, password=password
        )
    console.print(f"[green]✓[/] user {user.user_id} created.")
    typer.echo(f"Password (shown once): {password}")


@user_app.command("reset-password")
@with_user_errors
def user_reset_password(user_id: str = typer.Argument(...), url: str = URL_OPTION) -> None:
    """Give a user a new random password, printed once here; the user's sessions end."""
    password = access.generate_password()
    with _factory(url).begin() as session:
        access.set_password(session, user_id=user_id, password=password)
    typer.echo(f"New password for {user_id} (shown once): {password}")


@app.command("grant")
@with_user_errors
def grant(
    user_id: str = typer.Argument(..., help="The user's ID."),
    role: str = typer.Argument(..., help="security_official, staff_user or clinician."),
    kind: str = typer.Argument(..., help="practice, registry, virtual_group or apm_entity."),
    identifier: str = typer.Argument(..., help="TIN, vendor ID, virtual group ID or APM ID."),
    expires: str = typer.Option(None, help="Valid through this date (YYYY-MM-DD)."),
    url: str = URL_OPTION,
) -> None:
    """Grant a role directly, e.g. an organisation's first Security Official (audited)."""
    with _factory(url).begin() as session:
        info = access.operator_grant(
            session,
            user_id=user_id,
            organisation_type=kind,
            identifier=identifier,
            role=role,
            expires_at=_expiry(expires),
        )
    until = f" until {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
    console.print(
        f"[green]✓[/] {info.user_id} is {info.role.label} at {info.organisation.name}{until}."
    )


@app.command("authorise-client")
@with_user_errors
def authorise_client(
    registry: str = typer.Argument(..., help="The registry's vendor ID."),
    tin: str = typer.Argument(..., help="The practice's TIN."),
    year: int = typer.Argument(..., help="Performance year."),
    evidence: str = typer.Option(..., help="The signed agreement this is recorded from."),
    npi: str = typer.Option(None, help="Only this clinician (default: the whole practice)."),
    url: str = URL_OPTION,
) -> None:
    """Record that a registry may act for a practice in a year, from a signed agreement."""
    with _factory(url).begin() as session:
        info = access.operator_authorise(
            session,
            practice_tin=tin,
            registry_vendor_id=registry,
            performance_year=year,
            evidence=evidence,
            npi=npi,
        )
    console.print(
        f"[green]✓[/] {info.registry.name} may act for {info.practice.name} ({info.covers}) "
        f"in {info.performance_year}."
    )


@app.command("matrix")
@with_user_errors
def matrix(
    role: str = typer.Option(None, help="Only this role."),
    kind: str = typer.Option(None, help="Only this organisation type."),
) -> None:
    """Print the permission matrix with its references."""
    table = Table(title="Permission matrix (see also /docs/permissions)", show_lines=False)
    for column in ("organisation type", "role", "action", "effect", "reference"):
        table.add_column(column, overflow="fold")
    for cell in access.load_matrix():
        if role and cell.role.value != role:
            continue
        if kind and cell.organisation_type.value != kind:
            continue
        table.add_row(
            cell.organisation_type.value,
            cell.role.value,
            cell.action.value,
            cell.effect.value + ("" if cell.offered else " (role not offered)"),
            cell.reference,
        )
    console.print(table)
