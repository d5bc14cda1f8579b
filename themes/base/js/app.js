// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  var toggle = document.querySelector(".nav-toggle");
  var navigation = document.getElementById("site-nav");
  if (!toggle || !navigation) {
    return;
  }
  // Without this file the link opens the menu by its #site-nav target; with it, a button.
  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", function (event) {
    event.preventDefault();
    var open = navigation.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
