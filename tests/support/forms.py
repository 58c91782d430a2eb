"""Every <form> in the page templates, and how each shows a refusal: the CMS Design System error
summary (templates/_form_errors.html) on the templates named, or why it needs none (a button
with no field to fix, or a filter no input can make fail). The template scan
(tests/unit/web/test_form_errors.py) and the browser walk of each form's error state
(tests/e2e/browser/test_form_error_summaries.py) both start from ``forms_in_templates``, so a
form added without an entry here fails both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "openqpp" / "web" / "templates"
MACROS = "_form_errors.html"
_FORM = re.compile(r"<form\b([^>]*)>", re.S)
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


@dataclass(frozen=True)
class Form:
    template: str
    method: str
    action: str
    tag: str

    @property
    def key(self) -> str:
        return f"{self.template} {self.method} {self.action}"


@dataclass(frozen=True)
class Refusals:
    """How a form's refusals are shown: ``summary_on`` the templates that render its error
    summary, or ``none_because`` the reason it needs none."""

    summary_on: tuple[str, ...] = ()
    none_because: str = ""


BUTTON = "a button with no field to fix; its rare refusal ({}) is the error page with its code"
FILTER = "a GET filter no input makes fail: {}"

REFUSALS: dict[str, Refusals] = {
    "base.html POST /signout": Refusals(
        none_because="a button with no field to fix; signing out is never refused"
    ),
    "access/signin.html POST /signin": Refusals(("access/signin.html",)),
    "access/request_role.html POST /account/roles": Refusals(("access/request_role.html",)),
    "access/_decide.html POST /access/role-requests/{{ g.id }}/decision": Refusals(
        ("access/account.html", "access/organisation.html")
    ),
    "access/tokens.html POST {{ org.path }}/tokens": Refusals(("access/tokens.html",)),
    "access/tokens.html POST {{ org.path }}/tokens/{{ t.id }}/revoke": Refusals(
        none_because=BUTTON.format("the token was revoked already")
    ),
    "access/clients.html POST {{ org.path }}/clients": Refusals(("access/clients.html",)),
    "access/clients.html POST {{ org.path }}/clients/{{ a.id }}/revoke": Refusals(
        none_because=BUTTON.format("the authorisation was revoked already")
    ),
    "eligibility/lookup.html GET /participation-lookup": Refusals(("eligibility/lookup.html",)),
    "elections/home.html GET /eligibility-reporting": Refusals(
        none_because=FILTER.format("a choice among the years the server lists")
    ),
    "elections/practice.html GET {{ s.path }}": Refusals(
        none_because=FILTER.format("any text is a search; an unknown status shows all")
    ),
    "elections/confirm.html POST {{ page.post_path }}": Refusals(("elections/confirm.html",)),
    "elections/_election_facts.html POST {{ page.entity_path }}/public-reporting-opt-out": (
        Refusals(("elections/election.html",))
    ),
    "submissions/overview_upload_form.html POST {{ page.upload_path }}": Refusals(
        ("submissions/overview_upload_result.html",)
    ),
    "submissions/attest_pi.html POST {{ page.post_path }}": Refusals(
        ("submissions/attest_pi.html",)
    ),
    "submissions/attest_ia.html GET {{ page.post_path }}": Refusals(
        none_because=FILTER.format(
            "any text is a search; unknown weights or subcategories show all"
        )
    ),
    "submissions/attest_ia.html POST {{ page.post_path }}": Refusals(
        ("submissions/attest_ia.html",)
    ),
    "submissions/registry_details.html GET {{ page.path }}": Refusals(
        none_because=FILTER.format("a choice among the years the server lists")
    ),
    "submissions/registry_details.html GET {{ page.path }} #2": Refusals(
        none_because=FILTER.format("any text is a search; the dates are the server's list")
    ),
    "submissions/registry_upload_new.html POST {{ page.post_path }}": Refusals(
        ("submissions/registry_upload_new.html",)
    ),
    "submissions/registry_upload.html GET {{ page.confirm_path }}": Refusals(
        ("submissions/registry_upload.html",)
    ),
    "submissions/registry_upload.html POST {{ page.confirm_path }}": Refusals(
        ("submissions/registry_confirm.html",)
    ),
    "submissions/registry_upload.html POST {{ page.cancel_path }}": Refusals(
        none_because=BUTTON.format("the upload was confirmed already")
    ),
    "submissions/registry_confirm.html POST {{ page.confirm_path }}": Refusals(
        ("submissions/registry_confirm.html",)
    ),
    "scoring/_what_if_body.html GET {{ page.path }}": Refusals(("scoring/_what_if_body.html",)),
}


def templates() -> dict[str, str]:
    """Every template's text by its name (``access/signin.html``)."""
    return {
        path.relative_to(TEMPLATES).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(TEMPLATES.rglob("*.html"))
    }


def forms_in_templates() -> list[Form]:
    """Every <form> start tag in the templates; a second form with the same method and action
    in one template gets `` #2`` on its key."""
    found: list[Form] = []
    for name, text in templates().items():
        for match in _FORM.finditer(text):
            attributes = dict(_ATTRIBUTE.findall(match.group(1)))
            form = Form(
                name,
                attributes.get("method", "get").upper(),
                attributes.get("action", ""),
                match.group(0),
            )
            same = sum(1 for f in found if f.key == form.key)
            if same:
                form = Form(form.template, form.method, f"{form.action} #{same + 1}", form.tag)
            found.append(form)
    return found


def summary_forms() -> list[Form]:
    return [f for f in forms_in_templates() if REFUSALS.get(f.key, Refusals()).summary_on]
