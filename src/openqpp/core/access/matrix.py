"""The permission matrix (role x organisation type x action) as data, and the decision rule.

The matrix is read from ``services/access/permissions.yaml`` by the services layer and handed
here as plain data; this module validates it strictly and decides. Every cell carries the
sentence of the 2019 data submission guide's Appendix A (or another cited source) it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from openqpp.core.access.errors import ActionRefused, NotConnected, OutsideAllowedPeriod
from openqpp.core.access.model import (
    Action,
    ClientLink,
    DataScope,
    Effect,
    Grant,
    OrganisationType,
    Reach,
    Role,
    Target,
)
from openqpp.core.common import Tin


class MatrixError(ValueError):
    """The permission matrix file breaks its format; the message names the key."""

    code = "OQ-ACCESS-MATRIX"


@dataclass(frozen=True, slots=True)
class Cell:
    role: Role
    organisation_type: OrganisationType
    action: Action
    effect: Effect
    reach: Reach
    scope: DataScope
    reference: str
    note: str | None
    offered: bool = True
    """False when the role does not exist for the organisation type (every action denied)."""

    @property
    def allows_sometimes(self) -> bool:
        return self.effect is not Effect.DENY


@dataclass(frozen=True, slots=True)
class Decision:
    """An allowed action: which grant allowed it, how it reaches the target, and what data
    the caller may see (for viewing actions)."""

    action: Action
    grant: Grant
    cell: Cell
    via_client: ClientLink | None

    @property
    def scope(self) -> DataScope:
        return self.cell.scope


_ROLE_KEYS = frozenset({"offered", "reference", "note", "actions"})
_CELL_KEYS = frozenset({"effect", "reach", "scope", "reference", "note"})
_TOP_KEYS = frozenset({"description", "source", "actions", "matrix"})


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MatrixError(f"{where}: needs a non-empty text")
    return " ".join(value.split())


def _enum_keys(mapping: Any, enum: type[Any], where: str) -> dict[Any, Any]:
    if not isinstance(mapping, Mapping):
        raise MatrixError(f"{where}: needs a mapping")
    out = {}
    for key, value in mapping.items():
        try:
            out[enum(key)] = value
        except ValueError:
            known = ", ".join(m.value for m in enum)
            raise MatrixError(f"{where}: unknown key {key!r} (known: {known})") from None
    missing = [m.value for m in enum if m not in out]
    if missing:
        raise MatrixError(f"{where}: missing {', '.join(missing)}")
    return out


def _check_keys(mapping: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise MatrixError(f"{where}: unknown key(s) {unknown} (allowed: {sorted(allowed)})")


@dataclass(frozen=True, slots=True)
class PermissionMatrix:
    source: str
    description: str
    action_descriptions: Mapping[Action, str]
    cells: Mapping[tuple[Role, OrganisationType, Action], Cell]

    @classmethod
    def from_mapping(cls, data: Any) -> PermissionMatrix:
        if not isinstance(data, Mapping):
            raise MatrixError("the permission matrix file needs a mapping at the top")
        _check_keys(data, _TOP_KEYS, "top level")
        actions = {
            a: _text(t, f"actions.{a.value}")
            for a, t in _enum_keys(data.get("actions"), Action, "actions").items()
        }
        cells: dict[tuple[Role, OrganisationType, Action], Cell] = {}
        types = _enum_keys(data.get("matrix"), OrganisationType, "matrix")
        for org_type, roles_raw in types.items():
            roles = _enum_keys(roles_raw, Role, f"matrix.{org_type.value}")
            for role, entry in roles.items():
                where = f"matrix.{org_type.value}.{role.value}"
                if not isinstance(entry, Mapping):
                    raise MatrixError(f"{where}: needs a mapping")
                _check_keys(entry, _ROLE_KEYS, where)
                offered = entry.get("offered", True)
                if not isinstance(offered, bool):
                    raise MatrixError(f"{where}.offered: needs true or false")
                role_reference = _text(entry.get("reference"), f"{where}.reference")
                if not offered:
                    if "actions" in entry:
                        raise MatrixError(f"{where}: a role not offered lists no actions")
                    note = _text(entry.get("note"), f"{where}.note")
                    for action in Action:
                        cells[(role, org_type, action)] = Cell(
                            role,
                            org_type,
                            action,
                            Effect.DENY,
                            Reach.OWN,
                            DataScope.ALL,
                            role_reference,
                            note,
                            offered=False,
                        )
                    continue
                for action, raw in _enum_keys(entry.get("actions"), Action, where).items():
                    cells[(role, org_type, action)] = _cell(
                        raw, role, org_type, action, f"{where}.actions.{action.value}"
                    )
        return cls(
            source=_text(data.get("source"), "source"),
            description=_text(data.get("description"), "description"),
            action_descriptions=actions,
            cells=cells,
        )

    def cell(self, role: Role, organisation_type: OrganisationType, action: Action) -> Cell:
        return self.cells[(role, organisation_type, action)]

    def __iter__(self) -> Iterator[Cell]:
        for org_type in OrganisationType:
            for role in Role:
                for action in Action:
                    yield self.cells[(role, org_type, action)]

    def offered_roles(self, organisation_type: OrganisationType) -> tuple[Role, ...]:
        return tuple(
            r for r in Role if self.cells[(r, organisation_type, Action.VIEW_ELIGIBILITY)].offered
        )


def _cell(raw: Any, role: Role, org_type: OrganisationType, action: Action, where: str) -> Cell:
    if not isinstance(raw, Mapping):
        raise MatrixError(f"{where}: needs a mapping with effect and reference")
    _check_keys(raw, _CELL_KEYS, where)
    try:
        effect = Effect(str(raw.get("effect")))
        reach = Reach(raw.get("reach", Reach.OWN.value))
        scope = DataScope(raw.get("scope", DataScope.ALL.value))
    except ValueError as exc:
        raise MatrixError(f"{where}: {exc}") from None
    if reach is Reach.CLIENTS and org_type is not OrganisationType.REGISTRY:
        raise MatrixError(f"{where}: only registries act for clients")
    note = raw.get("note")
    if effect is not Effect.ALLOW and note is None:
        raise MatrixError(f"{where}: a refusal needs a note that says why, in plain words")
    return Cell(
        role=role,
        organisation_type=org_type,
        action=action,
        effect=effect,
        reach=reach,
        scope=scope,
        reference=_text(raw.get("reference"), f"{where}.reference"),
        note=_text(note, f"{where}.note") if note is not None else None,
    )


def describe(organisation_type: OrganisationType, identifier: str, npi: str | None = None) -> str:
    """How a refusal names what was asked for: from what the caller typed, never from what is
    stored, so the words are the same whether or not the organisation exists. TINs are masked."""
    shown = identifier
    if organisation_type is OrganisationType.PRACTICE and len(identifier) == 9:
        shown = Tin(identifier).masked
    text = f"{organisation_type.label.lower()} {organisation_type.identifier_label} {shown}"
    if npi:
        text += f", NPI {npi}"
    return text


def describe_target(target: Target) -> str:
    org = target.organisation
    return describe(org.type, org.identifier, target.npi)


def not_connected(description: str) -> NotConnected:
    """The one refusal for a target the caller has no connection to (or that does not exist)."""
    return NotConnected(
        f"You do not have access to {description}.",
        fix="Check the identifier. To get access, request a role at the organisation "
        "(Account > Request a role) and ask one of its Security Officials to approve it; a "
        "registry also needs the practice's client authorisation for the performance year.",
    )


def _reach(
    grant: Grant,
    target: Target,
    client_links: Iterable[ClientLink],
    performance_year: int | None,
) -> tuple[Reach, ClientLink | None] | None:
    if grant.organisation.id == target.organisation.id:
        return Reach.OWN, None
    if (
        grant.organisation.type is OrganisationType.REGISTRY
        and target.organisation.type is OrganisationType.PRACTICE
    ):
        for link in client_links:
            if (
                link.registry_id == grant.organisation.id
                and link.practice_id == target.organisation.id
                and (link.npi is None or link.npi == target.npi)
                and (performance_year is None or link.performance_year == performance_year)
            ):
                return Reach.CLIENTS, link
    return None


def decide(
    matrix: PermissionMatrix,
    *,
    grants: Iterable[Grant],
    action: Action,
    target: Target,
    client_links: Iterable[ClientLink] = (),
    in_submission_period: bool,
    performance_year: int | None = None,
) -> Decision:
    """Allow ``action`` on ``target`` when one of ``grants`` allows it; else raise.

    Raises :class:`NotConnected` when no grant reaches the target (own organisation, or a client
    authorisation for a registry), :class:`OutsideAllowedPeriod` or :class:`ActionRefused` when
    a grant reaches it but its cell does not allow the action now.
    """
    links = tuple(client_links)
    refusals: list[ActionRefused | OutsideAllowedPeriod] = []
    for grant in grants:
        reached = _reach(grant, target, links, performance_year)
        if reached is None:
            continue
        reach, link = reached
        cell = matrix.cell(grant.role, grant.organisation.type, action)
        where = (
            f"{grant.role.label} at {grant.organisation.type.label} {grant.organisation.identifier}"
        )
        if cell.effect is Effect.DENY or cell.reach is not reach:
            why = cell.note or (
                "that role acts for its registry's clients, not for the registry itself"
                if cell.reach is Reach.CLIENTS
                else "that role acts only for its own organisation"
            )
            refusals.append(
                ActionRefused(
                    f"Your role ({where}) does not allow {action.value.replace('_', ' ')} "
                    f"for {describe_target(target)}: {why}",
                    fix="See /docs/permissions for what each role may do; a Security Official "
                    "of the organisation can give you a role that allows it.",
                )
            )
            continue
        if cell.effect is Effect.OUTSIDE_SUBMISSION_PERIOD and in_submission_period:
            refusals.append(
                OutsideAllowedPeriod(
                    f"{action.value.replace('_', ' ').capitalize()} is not available during the "
                    f"submission period: {cell.note}",
                    fix="Come back after the submission period closes.",
                )
            )
            continue
        return Decision(action=action, grant=grant, cell=cell, via_client=link)
    if not refusals:
        raise not_connected(describe_target(target))
    periods = [r for r in refusals if isinstance(r, OutsideAllowedPeriod)]
    raise (periods or refusals)[0]
