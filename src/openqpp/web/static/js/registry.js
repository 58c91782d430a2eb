/* Registry pages: the receipt's Print button (shown only when scripts run; without them the
   page says to use the browser's Print command). No inline scripts: see web/security_headers.py. */
(function () {
  "use strict";
  function wire() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function () { window.print(); });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
