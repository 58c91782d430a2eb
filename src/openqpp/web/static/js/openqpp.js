/* openqpp page behaviour. The Content-Security-Policy allows scripts from this server only
   (no inline scripts), so what a page needs lives here.

   - The CMS Design System error summary (#error-summary) takes the focus when a page or an
     htmx swap shows it, so screen reader and keyboard users land on the list of problems. */
(function () {
  "use strict";

  function focusErrorSummary(root) {
    var summary = document.getElementById("error-summary");
    if (summary && (!root || root === summary || root.contains(summary))) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { focusErrorSummary(null); });
  } else {
    focusErrorSummary(null);
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    focusErrorSummary(event.target);
  });
})();
