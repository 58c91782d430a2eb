/* openqpp page behaviour. The Content-Security-Policy allows scripts from this server only
   (no inline scripts), so what a page needs lives here.

   - The CMS Design System error summary (#error-summary, templates/_form_errors.html) takes the
     focus when a page or an htmx swap shows it, so screen reader and keyboard users land on the
     list of problems; a summary is focused once, so later swaps (the registry's live counts)
     do not pull the focus back to it.
   - A link in the summary moves the focus to its field (or, for a problem of no one field, to
     the element it names) and scrolls the field's label or legend into view, so the question is
     seen with the field. Without scripts the link still jumps to the field. */
(function () {
  "use strict";

  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (summary && !summary.hasAttribute("data-focused")) {
      summary.setAttribute("data-focused", "");
      summary.focus();
    }
  }

  function caption(target) {
    if (target.id) {
      var label = document.querySelector("label[for='" + target.id + "']");
      if (label) {
        return label;
      }
    }
    var fieldset = target.closest("fieldset");
    var legend = fieldset ? fieldset.querySelector("legend") : null;
    return legend || target;
  }

  function focusTarget(link) {
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    var target = document.getElementById(id);
    if (!target) {
      return;
    }
    if (!target.matches(FOCUSABLE)) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus({ preventScroll: true });
    caption(target).scrollIntoView({ block: "start" });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("#error-summary a[href^='#']") : null;
    if (link) {
      // After the browser's own jump to the fragment (the address keeps it).
      window.setTimeout(function () { focusTarget(link); }, 0);
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }
  document.addEventListener("htmx:afterSettle", focusErrorSummary);
})();
