// Rolegate's small browser script. Loaded from /static (CSP: script-src 'self'); htmx does
// the requests, this only adds comfort that plain HTML cannot.
(function () {
  "use strict";

  // Close the user menu (a <details>) on Escape or on a click elsewhere.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) s.focus();
    });
  });
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });
})();
