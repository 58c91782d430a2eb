"""Driving pages with the keyboard only (Playwright's ``page.keyboard``), and what a keyboard user
needs from every page: a skip link to the main content, a tab order that follows the page and
reaches every control, no trap, and a visible focus indicator on each control.

The page is only read through ``page.evaluate`` (where the focus is, what the styles are); it
is never clicked or filled."""

from __future__ import annotations

import re
from typing import Any

TAB_LIMIT = 400

_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const label = e.labels && e.labels.length ? e.labels[0].textContent : '';
  const name = e.getAttribute('aria-label') || label || e.textContent || e.value || '';
  return {tag: e.tagName.toLowerCase(), id: e.id, type: e.type || '',
          name: name.replace(/\\s+/g, ' ').trim(), index: e.getAttribute('data-kb-index')};
}"""

_TABBABLE = """() => {
  // Every control a keyboard user must reach, in document order, tagged with its position; of
  // a radio group only the radio Tab stops at (the checked one, else the first).
  const all = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]');
  const seenGroups = new Set();
  const out = [];
  let i = 0;
  for (const e of all) {
    const style = getComputedStyle(e);
    const rendered = e.getClientRects().length > 0 && style.visibility !== 'hidden';
    if (!rendered || e.disabled || e.tabIndex < 0 || e.closest('[hidden], [inert]')) continue;
    if (e.type === 'radio') {
      const key = (e.form ? e.form.id || 'form' : 'doc') + '/' + e.name;
      if (seenGroups.has(key)) continue;
      seenGroups.add(key);
      const group = Array.from(document.getElementsByName(e.name)).filter(r => r.form === e.form);
      const stop = group.find(r => r.checked) || group[0];
      stop.setAttribute('data-kb-index', String(i));
      out.push(stop.getAttribute('aria-label') || stop.id);
    } else {
      e.setAttribute('data-kb-index', String(i));
      out.push(e.id || e.tagName);
    }
    i += 1;
  }
  return out;
}"""

_FOCUS_CHECK = """(e) => {
  // The focus indicator of the focused control ``e``: its look against its look without the
  // focus; an outline, a shadow or a new background; and its text still legible while it has
  // the focus (the contrast of its colour on the background behind it).
  const rgba = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const look = () => {
    const s = getComputedStyle(e);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor,
            s.borderColor, s.color, s.textDecorationLine].join(' | ');
  };
  const s = getComputedStyle(e);
  const indicator = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) ||
                    s.boxShadow !== 'none';
  const [l1, l2] = [luminance(rgba(s.color)), luminance(background(e))].sort((a, b) => b - a);
  const contrast = (l1 + 0.05) / (l2 + 0.05);
  const focused = look();
  const backgroundBefore = s.backgroundColor;
  e.blur();
  const plain = look();
  const newBackground = getComputedStyle(e).backgroundColor !== backgroundBefore;
  e.focus({preventScroll: true});
  return {focused, plain, indicator: indicator || newBackground, contrast,
          back: document.activeElement === e};
}"""
_FOCUS_STYLE = f"() => ({_FOCUS_CHECK})(document.activeElement)"
_EVERY_FOCUS_STYLE = f"""() => {{
  const check = {_FOCUS_CHECK};
  return Array.from(document.querySelectorAll('[data-kb-index]')).map(e => {{
    e.focus({{preventScroll: true}});
    const name = (e.getAttribute('aria-label') || e.textContent || e.id || e.tagName)
      .replace(/\\s+/g, ' ').trim();
    return {{...check(e), name, tag: e.tagName.toLowerCase()}};
  }});
}}"""

_ON_SCREEN = """() => {
  const r = document.activeElement.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 &&
         r.bottom <= window.innerHeight + 1 && r.right <= window.innerWidth + 1;
}"""


def focused(page: Any) -> dict[str, str] | None:
    value: dict[str, str] | None = page.evaluate(_FOCUSED)
    return value


def tab(page: Any, *, back: bool = False) -> dict[str, str] | None:
    page.keyboard.press("Shift+Tab" if back else "Tab")
    return focused(page)


def tab_to(page: Any, name: str | re.Pattern[str], *, back: bool = False) -> dict[str, str]:
    """Press Tab (Shift+Tab with ``back``) until the focused control's accessible name is
    ``name`` (or matches it); fails when it is not reached within TAB_LIMIT presses."""
    for _ in range(TAB_LIMIT):
        now = tab(page, back=back)
        if now is not None and (
            name.search(now["name"]) if isinstance(name, re.Pattern) else now["name"] == name
        ):
            return now
    raise AssertionError(f"{name!r} is not reached with the keyboard on {page.url}")


def assert_skip_link_reaches_main(page: Any) -> None:
    """The first Tab of a freshly loaded page lands on a visible "Skip to main content" link;
    Enter on it puts the focus on <main>, and the next Tab goes to a control inside it."""
    first = tab(page)
    assert first is not None, "Tab reaches nothing"
    assert first["name"] == "Skip to main content", first
    assert page.evaluate(_ON_SCREEN), "the skip link is not shown when it has the focus"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab(page)
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def _cycle(page: Any, count: int, *, back: bool, check_focus: bool) -> list[int]:
    """The controls met pressing Tab (Shift+Tab) until the walk comes back to where it
    started; fails if it does not within ``count`` + 5 presses (a trap, or a stop that is not
    a control)."""
    seen: list[int] = []
    for _ in range(count + 5):
        now = tab(page, back=back)
        if now is None:  # past the last control: the browser's own UI, then round again
            continue
        assert now["index"] is not None, f"Tab stopped on {now}, which is not a control"
        index = int(now["index"])
        if seen and index == seen[0]:
            return seen
        seen.append(index)
        if check_focus:
            _assert_focus_shows(page.evaluate(_FOCUS_STYLE), now)
    raise AssertionError(f"the keyboard walk never came back round on {page.url}: a trap?")


def _assert_focus_shows(style: dict[str, Any], control: object) -> None:
    assert style["back"], f"{control} cannot take the focus back"
    assert style["focused"] != style["plain"], f"no visible focus indicator on {control}"
    assert style["indicator"], f"no outline, shadow or background marks the focus: {control}"
    assert style["contrast"] >= 4.5, (
        f"the text of {control} is hard to read while it has the focus "
        f"(contrast {style['contrast']:.2f}:1)"
    )


def assert_focus_indicators(page: Any) -> int:
    """Every control of the page shows a focus indicator and stays legible when it has the
    focus (each focused from script in turn: the quick check for pages no flow walks)."""
    count = len(page.evaluate(_TABBABLE))
    for style in page.evaluate(_EVERY_FOCUS_STYLE):
        _assert_focus_shows(style, {"tag": style["tag"], "name": style["name"][:80]})
    page.evaluate("document.activeElement && document.activeElement.blur()")
    return count


def _rotated(seen: list[int]) -> list[int]:
    start = seen.index(min(seen))
    return seen[start:] + seen[:start]


def assert_keyboard_walk(page: Any) -> int:
    """Walk the whole page with Tab: every control is reached, in the order of the page (no
    positive tabindex), each with a focus indicator that differs from its look without the
    focus, and the walk comes back round (no trap). Then Shift+Tab meets the same controls in
    the reverse order. Returns the number of tab stops."""
    expected: list[str] = page.evaluate(_TABBABLE)
    assert expected, f"no control on {page.url}"
    forward = _cycle(page, len(expected), back=False, check_focus=True)
    assert _rotated(forward) == list(range(len(expected))), (
        f"tab order on {page.url} differs from the page: {[expected[i] for i in forward]} "
        f"!= {expected}"
    )
    backward = _cycle(page, len(expected), back=True, check_focus=False)
    assert _rotated(list(reversed(backward))) == list(range(len(expected))), (
        f"Shift+Tab order on {page.url}: {[expected[i] for i in backward]}"
    )
    return len(expected)
