"""The authorisation expectation of every route of the app, declared once, and the requests
that put it to the test (tests/security/test_route_matrix.py).

``RULES`` is keyed by ``"METHOD /path/{template}"`` as the app declares its routes, so a route
added later without an entry fails ``test_every_route_has_an_authorisation_expectation``. Each
:class:`Rule` says

* who may call it at all (``public``; ``optional``: public, but a bad API token is refused;
  ``session``: a signed-in person, pages; ``api``: an API token or a signed-in session);
* what it is about (its :class:`Scope`: which organisation, clinician or object the path, query
  or body names), filled for each caller with its own organisation (``own``), someone else's
  (``other``), one that does not exist (``missing``), a registry's partial client authorisation
  (``linked``: one clinician of Greenville Podiatry for 2022; ``linked_2019``: the same
  clinician in a year it was not authorised for) and, for objects, another organisation's
  object or none inside the caller's own (``foreign``, ``absent``);
* what the permission matrix must allow on it (its ``check``, written with the matrix's
  actions; the answer comes from tests/support/security_oracle.py);
* how a refusal reads: ``forbidden`` (403 with a code) or ``hidden`` (404, the same answer as
  for an object that does not exist: the Submissions API's own-objects-only rule);
* the request to send (query, form, JSON, files), a valid one wherever that is possible, so a
  refusal proves that nothing was stored although the request would have stored something.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from openqpp.batch.demo import GREENVILLE_PODIATRY, MIAMI_MEDICAL
from openqpp.core.access import Action, OrganisationType
from tests.support.elections_world import DEBARA, GREEN, LAKESIDE, LAKESIDE_NPI, RIVERA
from tests.support.practice_reporting import CEHRT_CURES, pi_form
from tests.support.registry_uploads import qpp_json
from tests.support.security_oracle import Oracle, Org, Target
from tests.support.security_world import (
    DOOMED,
    KEEP,
    MEMBER_OF,
    MISSING,
    OTHER,
    PRACTICE,
    REGISTRY,
    YEAR,
    Caller,
    Prepared,
)

A = Action
MISSING_ID = "999999"
MISSING_UUID = "00000000-0000-4000-8000-000000000000"


class Outcome(StrEnum):
    ALLOW = "allowed"
    SIGN_IN = "redirect to sign-in"
    UNAUTHENTICATED = "401"
    FORBIDDEN = "403"
    HIDDEN = "404 as if missing"
    CMS_UNAUTHORIZED = "401 OQ-SUB-401 (CMS: registries do not create whole submissions)"


@dataclass(frozen=True)
class Obj:
    """An object a path addresses: its id, the organisation it belongs to, and for submitted
    data the entity it is for and the organisation that submitted it."""

    id: str
    owner: Org | None = None
    entity: Target | None = None
    submitter: Org | None = None


@dataclass(frozen=True)
class Place:
    """One filling of a route's path parameters (and query or body) for one caller."""

    variant: str
    values: dict[str, str]
    target: Target | None = None
    obj: Obj | None = None


# ---------------------------------------------------------------- scopes


def _other_of(kind: OrganisationType, identifier: str) -> str:
    return MEMBER_OF[kind] if identifier == OTHER[kind] else OTHER[kind]


def _is_registry(caller: Caller) -> bool:
    return caller.home[0] is REGISTRY and caller.kind != "anonymous"


Scope = Callable[[Caller, Prepared], list[Place]]


def no_scope(caller: Caller, made: Prepared) -> list[Place]:
    return [Place("own", {})]


def _practice_places(caller: Caller, *, clinician: bool) -> list[Place]:
    rows = [
        ("own", MIAMI_MEDICAL, DEBARA, YEAR),
        ("other", LAKESIDE, LAKESIDE_NPI, YEAR),
        ("missing", MISSING[PRACTICE], LAKESIDE_NPI, YEAR),
    ]
    if _is_registry(caller):
        rows.append(("linked", GREENVILLE_PODIATRY, GREEN, YEAR))
        if clinician:
            rows.append(("linked_2019", GREENVILLE_PODIATRY, GREEN, 2019))
    places = []
    for variant, tin, npi, year in rows:
        values = {"year": str(year), "tin": tin}
        if clinician:
            values["npi"] = npi
        target = Target(PRACTICE, tin, npi if clinician else None, year)
        places.append(Place(variant, values, target))
    return places


def practice(caller: Caller, made: Prepared) -> list[Place]:
    """A practice (group, TIN) in 2022."""
    return _practice_places(caller, clinician=False)


def clinician(caller: Caller, made: Prepared) -> list[Place]:
    """One clinician (TIN/NPI) of a practice in 2022."""
    return _practice_places(caller, clinician=True)


def organisation(caller: Caller, made: Prepared) -> list[Place]:
    """``{kind}/{identifier}``: the caller's organisation, another of its type, none."""
    kind, mine = caller.home
    out = []
    for variant, identifier in (
        ("own", mine),
        ("other", _other_of(kind, mine)),
        ("missing", MISSING[kind]),
    ):
        values = {"kind": kind.value, "identifier": identifier}
        out.append(Place(variant, values, Target(kind, identifier)))
    return out


def registry(caller: Caller, made: Prepared) -> list[Place]:
    """``{vendor_id}``: the caller's registry (a registry's people), else the AAN QCDR."""
    mine = caller.home[1] if _is_registry(caller) else MEMBER_OF[REGISTRY]
    return [
        Place(variant, {"vendor_id": vendor}, Target(REGISTRY, vendor))
        for variant, vendor in (
            ("own", mine),
            ("other", _other_of(REGISTRY, mine)),
            ("missing", MISSING[REGISTRY]),
        )
    ]


def practice_tin(caller: Caller, made: Prepared) -> list[Place]:
    """``/organisations/practice/{tin}``."""
    return [
        Place(variant, {"tin": tin}, Target(PRACTICE, tin))
        for variant, tin in (
            ("own", MIAMI_MEDICAL),
            ("other", LAKESIDE),
            ("missing", MISSING[PRACTICE]),
        )
    ]


def role_request(caller: Caller, made: Prepared) -> list[Place]:
    """``{grant_id}``: a pending role request at the caller's organisation, at another, none."""
    kind, mine = caller.home
    out = []
    for variant, identifier in (("own", mine), ("other", _other_of(kind, mine))):
        grant = made.id(f"grant.{kind.value}.{identifier}")
        obj = Obj(str(grant), owner=(kind, identifier))
        out.append(Place(variant, {"grant_id": str(grant)}, Target(kind, identifier), obj))
    out.append(Place("missing", {"grant_id": MISSING_ID}, None, Obj(MISSING_ID)))
    return out


def _in_container(
    container: Org, containers: dict[str, Org], objects: dict[str, str], keys: tuple[str, str]
) -> list[Place]:
    """own/other/missing containers with their objects, and the caller's own container with
    another's object (``foreign``) or with none (``absent``)."""
    out = []
    for variant, (kind, identifier) in containers.items():
        object_id = objects.get(f"{kind.value}.{identifier}", MISSING_ID)
        values = {"kind": kind.value, keys[0]: identifier, keys[1]: object_id}
        owner = (kind, identifier) if object_id != MISSING_ID else None
        out.append(Place(variant, values, Target(kind, identifier), Obj(object_id, owner)))
    kind, mine = container
    other = containers["other"]
    for variant, object_id in (
        ("foreign", objects.get(f"{other[0].value}.{other[1]}", MISSING_ID)),
        ("absent", MISSING_ID),
    ):
        owner = other if object_id != MISSING_ID else None
        values = {"kind": kind.value, keys[0]: mine, keys[1]: object_id}
        out.append(Place(variant, values, Target(kind, mine), Obj(object_id, owner)))
    return out


def api_token(caller: Caller, made: Prepared) -> list[Place]:
    """``{kind}/{identifier}/tokens/{token_id}``."""
    kind, mine = caller.home
    tokens = {
        key.removeprefix("token."): str(value)
        for key, value in made.ids.items()
        if key.startswith("token.")
    }
    containers = {
        "own": (kind, mine),
        "other": (kind, _other_of(kind, mine)),
        "missing": (kind, MISSING[kind]),
    }
    return _in_container(caller.home, containers, tokens, ("identifier", "token_id"))


def client_authorisation(caller: Caller, made: Prepared) -> list[Place]:
    """``/organisations/practice/{tin}/clients/{authorisation_id}``."""
    auths = {
        f"practice.{key.removeprefix('client.')}": str(value)
        for key, value in made.ids.items()
        if key.startswith("client.")
    }
    containers = {
        "own": (PRACTICE, MIAMI_MEDICAL),
        "other": (PRACTICE, LAKESIDE),
        "missing": (PRACTICE, MISSING[PRACTICE]),
    }
    return _in_container((PRACTICE, MIAMI_MEDICAL), containers, auths, ("tin", "authorisation_id"))


def upload(caller: Caller, made: Prepared) -> list[Place]:
    """``/organisations/registry/{vendor_id}/uploads/{upload_id}``."""
    mine = caller.home[1] if _is_registry(caller) else MEMBER_OF[REGISTRY]
    uploads = {
        f"registry.{key.removeprefix('upload.')}": str(value)
        for key, value in made.ids.items()
        if key.startswith("upload.")
    }
    containers = {
        "own": (REGISTRY, mine),
        "other": (REGISTRY, _other_of(REGISTRY, mine)),
        "missing": (REGISTRY, MISSING[REGISTRY]),
    }
    places = _in_container((REGISTRY, mine), containers, uploads, ("vendor_id", "upload_id"))
    for place in places:
        if place.obj is not None and place.obj.id == MISSING_ID:
            place.values["upload_id"] = MISSING_UUID
    return places


GROUP_2022 = Target(PRACTICE, MIAMI_MEDICAL, None, YEAR)
RIVERA_2022 = Target(PRACTICE, MIAMI_MEDICAL, RIVERA, YEAR)
GREENVILLE_2022 = Target(PRACTICE, GREENVILLE_PODIATRY, None, YEAR)


def _submitter(caller: Caller) -> OrganisationType:
    """Whose Miami Medical data is the caller's own: the registry's people's, else the
    practice's."""
    return REGISTRY if caller.home == (REGISTRY, MEMBER_OF[REGISTRY]) else PRACTICE


def _by(kind: OrganisationType) -> Org:
    return (kind, MEMBER_OF[kind])


def submission(caller: Caller, made: Prepared) -> list[Place]:
    """``{submission_id}``: Miami Medical's 2022 group submission, Greenville Podiatry's, none."""
    return [
        Place(
            "own",
            {"submission_id": made.id("submission.main")},
            None,
            Obj(made.id("submission.main"), entity=GROUP_2022),
        ),
        Place(
            "other",
            {"submission_id": made.id("submission.other")},
            None,
            Obj(made.id("submission.other"), entity=GREENVILLE_2022),
        ),
        Place("missing", {"submission_id": MISSING_UUID}, None, Obj(MISSING_UUID)),
    ]


def _data_places(
    caller: Caller, made: Prepared, prefix: str, key: str, own: str = "main"
) -> list[Place]:
    """Sets or measurements: the caller's organisation's own on Miami Medical's submission,
    the other submitter's there (``foreign``), Greenville Podiatry's (``other``), none."""
    mine = _submitter(caller)
    theirs = PRACTICE if mine is REGISTRY else REGISTRY
    entity = RIVERA_2022 if own == "doomed" and prefix == "set" else GROUP_2022
    rows = [
        ("own", made.id(f"{prefix}.{own}.{mine.value}"), entity, _by(mine)),
        ("foreign", made.id(f"{prefix}.{own}.{theirs.value}"), entity, _by(theirs)),
        (
            "other",
            made.id(f"{prefix}.other.practice"),
            GREENVILLE_2022,
            (PRACTICE, GREENVILLE_PODIATRY),
        ),
        ("missing", MISSING_UUID, None, None),
    ]
    return [
        Place(variant, {key: object_id}, None, Obj(object_id, entity=where, submitter=who))
        for variant, object_id, where, who in rows
    ]


def measurement_set(caller: Caller, made: Prepared) -> list[Place]:
    return _data_places(caller, made, "set", "set_id")


def doomed_set(caller: Caller, made: Prepared) -> list[Place]:
    """Sets that may be deleted: on Jordan Rivera's (individual) submission."""
    return _data_places(caller, made, "set", "set_id", own="doomed")


def measurement(caller: Caller, made: Prepared) -> list[Place]:
    return _data_places(caller, made, "measurement", "measurement_id")


def doomed_measurement(caller: Caller, made: Prepared) -> list[Place]:
    return _data_places(caller, made, "measurement", "measurement_id", own="doomed")


def receipt(caller: Caller, made: Prepared) -> list[Place]:
    """``{submission_id}/receipts/{receipt_id}`` (API)."""
    places = []
    for place in _data_places(caller, made, "receipt", "receipt_id"):
        sid = {"own": "main", "foreign": "main", "other": "other"}.get(place.variant)
        place.values["submission_id"] = made.id(f"submission.{sid}") if sid else MISSING_UUID
        places.append(place)
    return places


def _receipt_page(caller: Caller, made: Prepared, *, clinician: bool) -> list[Place]:
    """The practice pages' receipts: the caller's organisation's own receipt, the other
    submitter's (``foreign``), a receipt of another practice's submission (``other``), none."""
    mine = _submitter(caller)
    theirs = PRACTICE if mine is REGISTRY else REGISTRY
    which = "clinician" if clinician else "main"
    entity = RIVERA_2022 if clinician else GROUP_2022
    base = {"year": str(YEAR), "tin": MIAMI_MEDICAL, **({"npi": RIVERA} if clinician else {})}
    rows = [
        ("own", made.id(f"receipt.{which}.{mine.value}"), entity, _by(mine)),
        ("foreign", made.id(f"receipt.{which}.{theirs.value}"), entity, _by(theirs)),
        ("other", made.id("receipt.other.practice"), None, None),
        ("missing", MISSING_UUID, None, None),
    ]
    return [
        Place(variant, {**base, "receipt_id": rid}, entity, Obj(rid, entity=where, submitter=who))
        for variant, rid, where, who in rows
    ]


def group_receipt(caller: Caller, made: Prepared) -> list[Place]:
    return _receipt_page(caller, made, clinician=False)


def clinician_receipt(caller: Caller, made: Prepared) -> list[Place]:
    return _receipt_page(caller, made, clinician=True)


# ---------------------------------------------------------------- checks

Check = Callable[[Oracle, Caller, Place], Outcome]


def nothing(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    return Outcome.ALLOW


def needs(*actions: Action, refused: Outcome = Outcome.FORBIDDEN) -> Check:
    """Every one of ``actions`` on the place's target."""

    def check(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
        assert place.target is not None
        ok = all(oracle.may(caller, a, place.target) for a in actions)
        return Outcome.ALLOW if ok else refused

    check.__doc__ = " and ".join(a.value for a in actions)
    return check


def member(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """A role at the organisation."""
    assert place.target is not None
    return Outcome.ALLOW if oracle.member(caller, place.target.org) else Outcome.FORBIDDEN


def inside(*actions: Action) -> Check:
    """``actions`` on the container (403 otherwise), and the object must be the container's
    (404 otherwise, the same for another's object as for none)."""

    def check(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
        assert place.target is not None
        assert place.obj is not None
        if not all(oracle.may(caller, a, place.target) for a in actions):
            return Outcome.FORBIDDEN
        return Outcome.ALLOW if place.obj.owner == place.target.org else Outcome.HIDDEN

    check.__doc__ = " and ".join(a.value for a in actions) + ", own objects"
    return check


def decides_role(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """manage_users at the organisation the request is for (none: refused alike)."""
    if place.target is None:
        return Outcome.FORBIDDEN
    return needs(A.MANAGE_USERS)(oracle, caller, place)


def sees_submission(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """view_submissions or submit_data for the entity."""
    assert place.obj is not None
    entity = place.obj.entity
    visible = entity is not None and oracle.sees_submission(caller, entity)
    return Outcome.ALLOW if visible else Outcome.HIDDEN


def scores_submission(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """As sees_submission, then view_preliminary_scores (403)."""
    seen = sees_submission(oracle, caller, place)
    if seen is not Outcome.ALLOW:
        return seen
    assert place.obj is not None
    assert place.obj.entity is not None
    allowed = oracle.may(caller, A.VIEW_PRELIMINARY_SCORES, place.obj.entity)
    return Outcome.ALLOW if allowed else Outcome.FORBIDDEN


def sees_data(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """The submitted data is visible: all of it (scope all) or the caller's own."""
    obj = place.obj
    assert obj is not None
    if obj.entity is None or obj.submitter is None:
        return Outcome.HIDDEN
    visible = oracle.sees_data_of(caller, obj.entity, obj.submitter)
    return Outcome.ALLOW if visible else Outcome.HIDDEN


def changes_data(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """submit_data for the entity, on data the caller's organisation submitted."""
    obj = place.obj
    assert obj is not None
    if obj.entity is None or obj.submitter is None:
        return Outcome.HIDDEN
    changes = oracle.changes_data_of(caller, obj.entity, obj.submitter)
    return Outcome.ALLOW if changes else Outcome.HIDDEN


def creates_submission(oracle: Oracle, caller: Caller, place: Place) -> Outcome:
    """submit_data; registries are answered 401 as CMS does (they send measurement sets)."""
    if caller.grants and all(kind is REGISTRY for _, kind, _ in caller.grants):
        return Outcome.CMS_UNAUTHORIZED
    return needs(A.SUBMIT_DATA)(oracle, caller, place)


# ---------------------------------------------------------------- requests

Values = dict[str, str]


def _csv(rows: str) -> Callable[[Place, Prepared], bytes]:
    return lambda place, made: rows.encode()


def _group_json(place: Place, made: Prepared) -> dict[str, Any]:
    return {
        "performanceYear": int(place.values["year"]),
        "entityType": "group",
        "taxpayerIdentificationNumber": place.values["tin"],
        "measurementSets": [_ia_set("IA_CC_1", year=int(place.values["year"]))],
    }


def _ia_set(*activities: str, year: int = YEAR) -> dict[str, Any]:
    return {
        "category": "ia",
        "submissionMethod": "registry",
        "performanceStart": f"{year}-01-01",
        "performanceEnd": f"{year}-12-31",
        "measurements": [{"measureId": a, "value": True} for a in activities],
    }


def _new_set(place: Place, made: Prepared) -> dict[str, Any]:
    return {
        "submission": {
            "performanceYear": int(place.values["year"]),
            "entityType": "individual",
            "taxpayerIdentificationNumber": place.values["tin"],
            "nationalProviderIdentifier": place.values["npi"],
        },
        **_ia_set("IA_CC_1", year=int(place.values["year"])),
    }


def _set_body(place: Place, made: Prepared) -> dict[str, Any]:
    """The set as it is (its two activities), so an allowed replacement changes nothing the
    later routes rely on."""
    submitter = place.obj.submitter if place.obj else None
    kind = submitter[0] if submitter and submitter[0] in (PRACTICE, REGISTRY) else PRACTICE
    return _ia_set(KEEP[kind], DOOMED[kind])


def _measurement_body(place: Place, made: Prepared) -> dict[str, Any]:
    submitter = place.obj.submitter if place.obj else None
    kind = submitter[0] if submitter and submitter[0] in (PRACTICE, REGISTRY) else PRACTICE
    return {"measureId": KEEP[kind], "value": True}


def _new_measurement(place: Place, made: Prepared) -> dict[str, Any]:
    return {"measurementSetId": place.values["set_id"], "measureId": "IA_PSPA_1", "value": True}


def _opt_in_body(place: Place, made: Prepared) -> dict[str, Any]:
    return {
        "data": [{"tin": place.values["tin"], "npi": place.values["npi"], "decision": "voluntary"}],
        "year": int(place.values["year"]),
        "confirm": "CONFIRM",
    }


def _entities(place: Place, made: Prepared) -> dict[str, str]:
    return {"Qpp-Opt-In-Entities": f"{place.values['tin']}|{place.values['npi']}"}


def _upload_files(place: Place, made: Prepared) -> dict[str, Any]:
    data = qpp_json(MIAMI_MEDICAL, npi=RIVERA, year=YEAR, activities={"IA_CC_1": True})
    return {"files": ("rivera.json", data, "application/json")}


def _practice_file(place: Place, made: Prepared) -> dict[str, Any]:
    npi = place.values.get("npi")
    data = qpp_json(place.values["tin"], npi=npi, year=YEAR, activities={"IA_AHE_3": True})
    return {"file": ("data.json", data, "application/json")}


def _pi_form(place: Place, made: Prepared) -> dict[str, str]:
    statements = ("PI_PPHI_1", "PI_PPHI_2", "PI_ONCDIR_1", "PI_INFBLO_1")
    return pi_form(
        year=YEAR,
        cehrt=CEHRT_CURES,
        statements=statements,
        measures={"PI_EP_1": (5, 9)},
        confirm=True,
    )


def _ia_form(place: Place, made: Prepared) -> dict[str, Any]:
    return {
        "performance_start": f"{YEAR}-01-01",
        "performance_end": f"{YEAR}-12-31",
        "shown": ["IA_BE_12"],
        "completed": ["IA_BE_12"],
    }


SUBMISSION_JSON = json.dumps(
    {
        "performanceYear": YEAR,
        "entityType": "group",
        "taxpayerIdentificationNumber": MIAMI_MEDICAL,
        "measurementSets": [_ia_set("IA_CC_1")],
    }
)


@dataclass(frozen=True)
class Rule:
    who: Literal["public", "optional", "session", "api"]
    check: Check = nothing
    scope: Scope = no_scope
    refusal: Literal["forbidden", "hidden"] = "forbidden"
    query: Callable[[Place, Prepared], dict[str, Any]] | None = None
    form: Callable[[Place, Prepared], dict[str, Any]] | None = None
    json: Callable[[Place, Prepared], Any] | None = None
    content: Callable[[Place, Prepared], bytes] | None = None
    files: Callable[[Place, Prepared], dict[str, Any]] | None = None
    headers: Callable[[Place, Prepared], dict[str, str]] | None = None
    ends_session: bool = False
    """Signing out: run on a session of its own, so the caller's stays signed in."""
    destroys: bool = False
    """DELETE: once an allowed caller deleted the object, later allowed callers get 404."""
    may_404: bool = False
    """The object the route names may be missing for an allowed caller (an upload not
    confirmed yet, an entity without an election)."""
    documentation: bool = False
    """Answers are documentation whose examples use the guides' TINs (not stored data)."""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def q(**values: Any) -> Callable[[Place, Prepared], dict[str, Any]]:
    return lambda place, made: dict(values)


def form(**values: Any) -> Callable[[Place, Prepared], dict[str, Any]]:
    return lambda place, made: dict(values)


PAGE_ELIG = needs(A.VIEW_ELIGIBILITY)
SUBMIT_PAGE = needs(A.VIEW_ELIGIBILITY, A.SUBMIT_DATA)
SCORE_PAGE = needs(A.VIEW_ELIGIBILITY, A.VIEW_PRELIMINARY_SCORES)
ELECT = needs(A.ELECT)
REGISTRY_PAGES = needs(A.VIEW_CLIENT_AUTHORISATIONS)
UPLOAD_OBJECT = inside(A.VIEW_CLIENT_AUTHORISATIONS)
P = "/eligibility-reporting/{year}/practices/{tin}"
C = P + "/clinicians/{npi}"
R = "/organisations/registry/{vendor_id}"
U = R + "/uploads/{upload_id}"
S = "/api/submissions"
CONFIRM_FORM = form(decision="voluntary", typed="CONFIRM", idempotency_key="")
GROUP_CONFIRM_FORM = form(decision="opt_in", typed="CONFIRM", idempotency_key="")

RULES: dict[str, Rule] = {
    # ---------------------------------------------------------------- public
    "GET /api/openapi.json": Rule("public", documentation=True),
    "GET /api/docs": Rule("public"),
    "GET /docs/oauth2-redirect": Rule("public"),
    "GET /healthz": Rule("public"),
    "GET /": Rule("public"),
    "GET /signin": Rule("public"),
    "POST /signin": Rule(
        "public",
        # no password: answered without checking one (no back-off counted, no session made)
        form=form(user_id="sec.requester", password="", statement_of_truth="yes"),
    ),
    "POST /signout": Rule("public", ends_session=True),
    "GET /docs/permissions": Rule("public"),
    "GET /participation-lookup": Rule("public", query=q(npi=GREEN, year=str(YEAR))),
    "GET /api/access/permissions": Rule("public"),
    "GET /api/eligibility/stats": Rule("public"),
    "POST /api/eligibility/roster": Rule(
        "public",
        content=_csv(f"tin,npi\n{MIAMI_MEDICAL},{DEBARA}\n{LAKESIDE},\n"),
        headers=lambda place, made: {"Content-Type": "text/csv"},
    ),
    "GET /api/eligibility/npi/{npi}": Rule("optional", extra={"npi": GREEN}),
    "GET /api/eligibility/npis/{npis}": Rule("optional", extra={"npis": f"{GREEN},{DEBARA}"}),
    f"POST {S}/public/validate-submission": Rule(
        "optional",
        content=lambda place, made: SUBMISSION_JSON.encode(),
        headers=lambda place, made: {"Content-Type": "application/json"},
    ),
    f"POST {S}/submissions/validate": Rule(
        "optional",
        content=lambda place, made: SUBMISSION_JSON.encode(),
        headers=lambda place, made: {"Content-Type": "application/json"},
    ),
    # ---------------------------------------------------------------- any signed-in person
    "GET /account": Rule("session"),
    "GET /account/roles/new": Rule("session"),
    "POST /account/roles": Rule(
        "session",
        form=form(organisation_type="practice", identifier=LAKESIDE, role="staff_user"),
    ),
    "GET /eligibility-reporting": Rule("session", query=q(year=str(YEAR))),
    # ---------------------------------------------------------------- any API caller
    "GET /api/access/me": Rule("api"),
    f"POST {S}/submissions/score-preview": Rule(
        "api",
        content=lambda place, made: SUBMISSION_JSON.encode(),
        headers=lambda place, made: {"Content-Type": "application/json"},
    ),
    f"GET {S}/submissions": Rule(
        "api",
        scope=practice,
        query=lambda place, made: {"taxpayerIdentificationNumber": place.values["tin"]},
        notes="filtered to what the caller may see (the TIN and id checks cover leaks)",
    ),
    f"GET {S}/measurement-sets": Rule("api"),
    f"GET {S}/measurements": Rule("api"),
    # ---------------------------------------------------------------- organisations
    "GET /organisations/{kind}/{identifier}": Rule("session", member, organisation),
    "GET /organisations/{kind}/{identifier}/notifications": Rule("session", member, organisation),
    "GET /organisations/{kind}/{identifier}/elections.ics": Rule("api", member, organisation),
    "POST /access/role-requests/{grant_id}/decision": Rule(
        "session", decides_role, role_request, form=form(decision="approve", next="/account")
    ),
    "POST /api/access/role-requests/{grant_id}/decision": Rule(
        "api", decides_role, role_request, json=lambda place, made: {"decision": "approve"}
    ),
    "GET /organisations/{kind}/{identifier}/tokens": Rule(
        "session", needs(A.MANAGE_API_TOKENS), organisation
    ),
    "POST /organisations/{kind}/{identifier}/tokens": Rule(
        "session", needs(A.MANAGE_API_TOKENS), organisation, form=form(label="matrix token")
    ),
    "POST /organisations/{kind}/{identifier}/tokens/{token_id}/revoke": Rule(
        "session", inside(A.MANAGE_API_TOKENS), api_token
    ),
    "GET /organisations/{kind}/{identifier}/clients": Rule(
        "session", needs(A.VIEW_CLIENT_AUTHORISATIONS), organisation
    ),
    "POST /organisations/practice/{tin}/clients": Rule(
        "session",
        needs(A.MANAGE_CLIENT_AUTHORISATIONS),
        practice_tin,
        # a year no expectation depends on, for the registry already authorised
        form=form(registry="AAN-QCDR", performance_year="2021", npi=""),
    ),
    "POST /organisations/practice/{tin}/clients/{authorisation_id}/revoke": Rule(
        "session", inside(A.MANAGE_CLIENT_AUTHORISATIONS), client_authorisation
    ),
    "GET /organisations/{kind}/{identifier}/audit": Rule(
        "session", needs(A.VIEW_AUDIT_LOG), organisation
    ),
    "GET /api/access/authorize": Rule(
        "api",
        needs(A.VIEW_SUBMISSIONS),
        clinician,
        query=lambda place, made: {
            "action": "view_submissions",
            "organisation_type": "practice",
            "identifier": place.values["tin"],
            "npi": place.values["npi"],
            "performance_year": place.values["year"],
        },
    ),
    "GET /api/access/organisations/{kind}/{identifier}/tokens": Rule(
        "api", needs(A.MANAGE_API_TOKENS), organisation
    ),
    "POST /api/access/organisations/{kind}/{identifier}/tokens": Rule(
        "api",
        needs(A.MANAGE_API_TOKENS),
        organisation,
        json=lambda place, made: {"label": "matrix token"},
    ),
    "POST /api/access/organisations/{kind}/{identifier}/tokens/{token_id}/revoke": Rule(
        "api", inside(A.MANAGE_API_TOKENS), api_token
    ),
    "GET /api/access/organisations/{kind}/{identifier}/client-authorisations": Rule(
        "api", needs(A.VIEW_CLIENT_AUTHORISATIONS), organisation
    ),
    "POST /api/access/organisations/practice/{tin}/client-authorisations": Rule(
        "api",
        needs(A.MANAGE_CLIENT_AUTHORISATIONS),
        practice_tin,
        json=lambda place, made: {"registry": "AAN-QCDR", "performanceYear": 2021},
    ),
    "GET /api/access/organisations/{kind}/{identifier}/audit": Rule(
        "api", needs(A.VIEW_AUDIT_LOG), organisation
    ),
    # ---------------------------------------------------------------- Eligibility & Reporting
    f"GET {P}": Rule("session", PAGE_ELIG, practice),
    f"GET {P}/clinicians.csv": Rule("session", PAGE_ELIG, practice),
    f"GET {P}/group-options": Rule("session", ELECT, practice),
    f"GET {C}/individual-options": Rule("session", ELECT, clinician),
    f"GET {P}/group-options/confirm": Rule("session", ELECT, practice, query=q(decision="opt_in")),
    f"GET {C}/individual-options/confirm": Rule(
        "session", ELECT, clinician, query=q(decision="voluntary")
    ),
    f"POST {P}/group-options/confirm": Rule("session", ELECT, practice, form=GROUP_CONFIRM_FORM),
    f"POST {C}/individual-options/confirm": Rule("session", ELECT, clinician, form=CONFIRM_FORM),
    f"GET {P}/confirmed": Rule("session", PAGE_ELIG, practice),
    f"GET {C}/confirmed": Rule("session", PAGE_ELIG, clinician),
    f"POST {P}/public-reporting-opt-out": Rule("session", ELECT, practice),
    f"POST {C}/public-reporting-opt-out": Rule("session", ELECT, clinician),
    "GET /api/eligibility/opt-in": Rule(
        "api",
        needs(A.VIEW_ELIGIBILITY),
        clinician,
        headers=_entities,
        query=lambda place, made: {"year": place.values["year"]},
    ),
    "PUT /api/eligibility/opt-in": Rule("api", ELECT, clinician, json=_opt_in_body),
    "POST /api/eligibility/opt-in": Rule("api", ELECT, clinician, json=_opt_in_body),
    # ---------------------------------------------------------------- scores
    f"GET {S}/submissions/{{submission_id}}/score": Rule(
        "api", scores_submission, submission, refusal="hidden"
    ),
    f"GET {P}/reporting/score": Rule("session", SCORE_PAGE, practice),
    f"GET {C}/reporting/score": Rule("session", SCORE_PAGE, clinician),
    f"GET {P}/reporting/score/{{category}}": Rule(
        "session", SCORE_PAGE, practice, extra={"category": "ia"}
    ),
    f"GET {C}/reporting/score/{{category}}": Rule(
        "session", SCORE_PAGE, clinician, extra={"category": "quality"}
    ),
    f"GET {P}/reporting/what-if": Rule("session", SCORE_PAGE, practice),
    f"GET {C}/reporting/what-if": Rule("session", SCORE_PAGE, clinician),
    # ---------------------------------------------------------------- registry pages
    f"GET {R}/submission-details": Rule("session", REGISTRY_PAGES, registry),
    f"GET {R}/submission-details.csv": Rule("session", REGISTRY_PAGES, registry),
    f"GET {R}/submission-details/receipt": Rule("session", REGISTRY_PAGES, registry),
    f"GET {R}/uploads": Rule("session", REGISTRY_PAGES, registry),
    f"POST {R}/uploads": Rule(
        "session", REGISTRY_PAGES, registry, files=_upload_files, form=form(year=str(YEAR))
    ),
    f"GET {U}": Rule("session", UPLOAD_OBJECT, upload),
    f"GET {U}/counts": Rule("session", UPLOAD_OBJECT, upload),
    f"GET {U}/files/{{position}}/report": Rule(
        "session", UPLOAD_OBJECT, upload, extra={"position": "0"}
    ),
    f"GET {U}/confirm": Rule("session", UPLOAD_OBJECT, upload),
    f"POST {U}/confirm": Rule("session", UPLOAD_OBJECT, upload, form=form(typed="CONFIRM")),
    f"GET {U}/confirmed": Rule("session", UPLOAD_OBJECT, upload, may_404=True),
    f"POST {U}/cancel": Rule("session", UPLOAD_OBJECT, upload),
    # ---------------------------------------------------------------- Submissions API
    f"POST {S}/submissions": Rule("api", creates_submission, practice, json=_group_json),
    f"GET {S}/submissions/{{submission_id}}": Rule(
        "api", sees_submission, submission, refusal="hidden"
    ),
    f"GET {S}/submissions/{{submission_id}}/receipts": Rule(
        "api", sees_submission, submission, refusal="hidden"
    ),
    f"GET {S}/submissions/{{submission_id}}/receipts/{{receipt_id}}": Rule(
        "api", sees_data, receipt, refusal="hidden"
    ),
    f"POST {S}/measurement-sets": Rule("api", needs(A.SUBMIT_DATA), clinician, json=_new_set),
    f"GET {S}/measurement-sets/{{set_id}}": Rule(
        "api", sees_data, measurement_set, refusal="hidden"
    ),
    f"PUT {S}/measurement-sets/{{set_id}}": Rule(
        "api", changes_data, measurement_set, refusal="hidden", json=_set_body
    ),
    f"PATCH {S}/measurement-sets/{{set_id}}": Rule(
        "api", changes_data, measurement_set, refusal="hidden", json=_set_body
    ),
    f"DELETE {S}/measurement-sets/{{set_id}}": Rule(
        "api", changes_data, doomed_set, refusal="hidden", destroys=True
    ),
    f"POST {S}/measurements": Rule(
        "api", changes_data, measurement_set, refusal="hidden", json=_new_measurement
    ),
    f"GET {S}/measurements/{{measurement_id}}": Rule(
        "api", sees_data, measurement, refusal="hidden"
    ),
    f"PUT {S}/measurements/{{measurement_id}}": Rule(
        "api", changes_data, measurement, refusal="hidden", json=_measurement_body
    ),
    f"PATCH {S}/measurements/{{measurement_id}}": Rule(
        "api", changes_data, measurement, refusal="hidden", json=_measurement_body
    ),
    f"DELETE {S}/measurements/{{measurement_id}}": Rule(
        "api", changes_data, doomed_measurement, refusal="hidden", destroys=True
    ),
    # ---------------------------------------------------------------- practice reporting
    f"GET {P}/reporting": Rule("session", PAGE_ELIG, practice),
    f"GET {C}/reporting": Rule("session", PAGE_ELIG, clinician),
    f"POST {P}/reporting/upload": Rule("session", SUBMIT_PAGE, practice, files=_practice_file),
    f"POST {C}/reporting/upload": Rule("session", SUBMIT_PAGE, clinician, files=_practice_file),
    f"GET {P}/reporting/receipts/{{receipt_id}}": Rule(
        "session", sees_data, group_receipt, refusal="hidden"
    ),
    f"GET {C}/reporting/receipts/{{receipt_id}}": Rule(
        "session", sees_data, clinician_receipt, refusal="hidden"
    ),
    f"GET {P}/reporting/pi": Rule("session", SUBMIT_PAGE, practice),
    f"GET {C}/reporting/pi": Rule("session", SUBMIT_PAGE, clinician),
    f"POST {P}/reporting/pi": Rule("session", SUBMIT_PAGE, practice, form=_pi_form),
    f"POST {C}/reporting/pi": Rule("session", SUBMIT_PAGE, clinician, form=_pi_form),
    f"GET {P}/reporting/ia": Rule("session", SUBMIT_PAGE, practice),
    f"GET {C}/reporting/ia": Rule("session", SUBMIT_PAGE, clinician),
    f"POST {P}/reporting/ia": Rule("session", SUBMIT_PAGE, practice, form=_ia_form),
    f"POST {C}/reporting/ia": Rule("session", SUBMIT_PAGE, clinician, form=_ia_form),
}
"""Every route's authorisation expectation (see the module docstring)."""
