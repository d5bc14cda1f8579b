/* sitegen serve: reloads the page when a rebuild changed it, swaps stylesheets in place when
 * only styles changed, and shows a build error over the page (the last good page stays). */
(function (window, document) {
  "use strict";
  var OVERLAY = "sitegen-build-error";

  function hideError() {
    var overlay = document.getElementById(OVERLAY);
    if (overlay) overlay.parentNode.removeChild(overlay);
  }

  function showError(message) {
    hideError();
    var overlay = document.createElement("div");
    overlay.id = OVERLAY;
    overlay.setAttribute("role", "alert");
    overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
      "background:rgba(20,20,20,.94);color:#fff;font:14px/1.5 ui-monospace,monospace;" +
      "padding:2em";
    var title = document.createElement("h2");
    title.textContent = "Build failed: the page below is the last good build";
    title.style.cssText = "font:bold 18px/1.3 sans-serif;margin:0 0 1em;color:#ff8a80";
    var text = document.createElement("pre");
    text.textContent = message;
    text.style.cssText = "white-space:pre-wrap;margin:0";
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "Hide";
    close.style.cssText = "position:absolute;top:1em;right:1em;font:14px sans-serif";
    close.addEventListener("click", hideError);
    overlay.appendChild(title);
    overlay.appendChild(text);
    overlay.appendChild(close);
    (document.body || document.documentElement).appendChild(overlay);
  }

  function sheets(root) {
    return Array.prototype.slice.call(root.querySelectorAll('link[rel~="stylesheet"]'));
  }

  /* The page as the server has it now gives the new stylesheet links (their fingerprinted
   * names and integrity change together); each replaces its old link once it loaded. */
  function swapStyles() {
    window.fetch(window.location.href, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var fresh = sheets(new window.DOMParser().parseFromString(text, "text/html"));
        var current = sheets(document);
        if (fresh.length !== current.length) {
          window.location.reload();
          return;
        }
        current.forEach(function (link, index) {
          var next = fresh[index];
          if (link.getAttribute("href") === next.getAttribute("href")) return;
          var replacement = document.importNode(next, true);
          replacement.addEventListener("load", function () {
            if (link.parentNode) link.parentNode.removeChild(link);
            document.documentElement.setAttribute("data-sitegen-styles", next.getAttribute("href"));
          });
          link.parentNode.insertBefore(replacement, link.nextSibling);
        });
      })
      .catch(function () { window.location.reload(); });
  }

  var source = new window.EventSource("/_sitegen/events");
  source.addEventListener("reload", function () { window.location.reload(); });
  source.addEventListener("css", function () { hideError(); swapStyles(); });
  source.addEventListener("failed", function (event) {
    showError(JSON.parse(event.data).message);
  });
  source.addEventListener("fixed", hideError);
})(window, document);
