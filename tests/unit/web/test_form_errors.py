"""The CMS Design System error summary on every form that can be refused: the templates are
scanned for <form> elements (tests/support/forms.py), each must say how its refusals are shown,
and every summary and inline error comes from the one macro file, templates/_form_errors.html,
whose output is checked here."""

from __future__ import annotations

import re

import pytest
from jinja2 import Environment, FileSystemLoader
from tests.support.forms import MACROS, REFUSALS, TEMPLATES, forms_in_templates, templates

INCLUDE = re.compile(r'{%-?\s*include\s+"([^"]+)"')
LABEL = re.compile(r"<label\b.*?</label>", re.S)


@pytest.fixture(scope="module")
def macros() -> object:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template(MACROS).module


def test_every_form_in_the_templates_says_how_its_refusals_are_shown() -> None:
    found = {form.key for form in forms_in_templates()}
    assert len(found) > 20  # the scan reads the templates
    missing = sorted(found - set(REFUSALS))
    assert not missing, "forms without an entry in tests/support/forms.py REFUSALS:\n" + "\n".join(
        missing
    )
    stale = sorted(set(REFUSALS) - found)
    assert not stale, "entries for forms the templates no longer have:\n" + "\n".join(stale)
    for key, refusals in REFUSALS.items():
        assert bool(refusals.summary_on) != bool(refusals.none_because), key


def test_a_form_that_can_be_refused_shows_the_shared_error_summary() -> None:
    texts = templates()
    for key, refusals in REFUSALS.items():
        for name in refusals.summary_on:
            text = texts[name]
            assert MACROS in text, f"{name} does not import {MACROS} (for {key})"
            assert "error_summary(" in text, f"{name} shows the refusals of {key} by hand"


def test_a_page_showing_an_error_summary_says_error_in_its_title() -> None:
    texts = templates()
    includers: dict[str, set[str]] = {}
    for name, text in texts.items():
        for included in INCLUDE.findall(text):
            includers.setdefault(included, set()).add(name)

    def pages_of(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if texts[name].lstrip().startswith('{% extends "base.html" %}'):
            return {name}
        return {
            page
            for parent in includers.get(name, ()) - seen
            for page in pages_of(parent, seen | {name})
        }

    for name, text in texts.items():
        if name != MACROS and "error_summary(" in text and name != "access/_errors.html":
            for page in pages_of(name) or {name}:
                assert "title_prefix(" in texts[page], f"{page} shows errors without 'Error: '"


def test_no_template_writes_error_markup_by_hand() -> None:
    for name, text in templates().items():
        if name == MACROS:
            continue
        for handmade in ('id="error-summary"', "ds-c-inline-error", "field_errors"):
            assert handmade not in text, f"{name}: {handmade} (use {MACROS})"


def test_inline_errors_stand_outside_the_labels() -> None:
    """CMS Design System: 'Inline error text should be outside of the label element.'"""
    for name, text in templates().items():
        for label in LABEL.findall(text):
            assert "inline_error(" not in label, f"{name}: an inline error inside {label[:80]}"


def test_the_summary_is_an_alert_with_a_heading_and_a_link_to_each_field(macros: object) -> None:
    errors = [
        {"field": "user-id", "message": "Enter your user ID."},
        {"field": "error-summary", "message": "The election window is closed. Come back later."},
        {"field": "sot-agree", "message": "Agree to the <Statement of Truth>."},
    ]
    html = str(
        macros.error_summary(errors, "Complete these items to sign in:", "OQ-AUTH-004")  # type: ignore[attr-defined]
    )
    assert 'class="ds-c-alert ds-c-alert--error' in html
    assert 'role="alert" id="error-summary" tabindex="-1"' in html
    assert 'aria-labelledby="error-summary-heading"' in html
    assert re.search(
        r'<h2 [^>]*id="error-summary-heading">Complete these items to sign in:</h2>', html
    )
    assert '<li><a href="#user-id">Enter your user ID.</a></li>' in html
    assert "<li>The election window is closed. Come back later.</li>" in html  # no field
    assert '<a href="#sot-agree">Agree to the &lt;Statement of Truth&gt;.</a>' in html
    assert "<code>OQ-AUTH-004</code>" in html
    assert str(macros.error_summary([], "Complete these items:")).strip() == ""  # type: ignore[attr-defined]


def test_a_field_with_a_problem_is_marked_and_described_by_its_message(macros: object) -> None:
    errors = [{"field": "confirm-text", "message": 'Type "CONFIRM".'}]
    m = macros
    assert str(m.inline_error(errors, "confirm-text")) == (  # type: ignore[attr-defined]
        '<span class="ds-c-inline-error" id="confirm-text-error">Type &#34;CONFIRM&#34;.</span>'
    )
    assert str(m.inline_error(errors, "other")) == ""  # type: ignore[attr-defined]
    assert str(m.error_class(errors, "confirm-text")) == " ds-c-field--error"  # type: ignore[attr-defined]
    assert (
        str(m.error_class(errors, "confirm-text", "ds-c-choice--error"))  # type: ignore[attr-defined]
        == " ds-c-choice--error"
    )
    assert str(m.error_class(errors, "other")) == ""  # type: ignore[attr-defined]
    assert str(m.field_attrs(errors, "confirm-text", "confirm-hint")) == (  # type: ignore[attr-defined]
        ' aria-describedby="confirm-hint confirm-text-error" aria-invalid="true"'
    )
    assert str(m.field_attrs(errors, "other", "other-hint")) == ' aria-describedby="other-hint"'  # type: ignore[attr-defined]
    assert str(m.field_attrs([], "other")) == ""  # type: ignore[attr-defined]
    assert str(m.title_prefix(errors)) == "Error: "  # type: ignore[attr-defined]
    assert str(m.title_prefix([])) == ""  # type: ignore[attr-defined]
