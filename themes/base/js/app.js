// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  var toggle = document.querySelector(".nav-toggle");
  var navigation = document.getElementById("site-nav");
  if (!toggle || !navigation) {
    return;
  }
  toggle.addEventListener("click", function () {
    var open = navigation.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
