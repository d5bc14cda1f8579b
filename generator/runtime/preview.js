/* sitegen preview switcher: only in `sitegen build --preview` output. Lists the prebuilt
 * variants of this page; each link forces that variant through the runtime's QA override
 * (?sg=...), for this browser session. */
(function (window, document) {
  "use strict";
  var config = window.sitegenConfig;
  if (!config) return;
  function link(label, parts) {
    var a = document.createElement("a");
    a.href = window.location.pathname + "?sg=" + ["reset"].concat(parts).join(",");
    a.textContent = label;
    a.style.cssText = "display:block;color:#fff;margin:.2em 0";
    return a;
  }
  function show() {
    var panel = document.createElement("div");
    panel.id = "sitegen-preview";
    panel.style.cssText = "position:fixed;right:1em;bottom:1em;z-index:2147483647;" +
      "background:#222;color:#fff;font:13px/1.4 sans-serif;padding:.8em 1em;" +
      "border-radius:6px;max-width:20em;opacity:.92";
    var served = config.page.variant || "default";
    var title = document.createElement("strong");
    title.textContent = "Variant: " + served;
    panel.appendChild(title);
    var none = config.experiments.map(function (e) { return e.key + ":-"; });
    panel.appendChild(link("default", none));
    config.page.variants.forEach(function (variant) {
      var arms = {};
      variant.arms.forEach(function (pair) { arms[pair[0]] = pair[1]; });
      var parts = config.experiments.map(function (e) {
        return e.key + ":" + (arms[e.key] || "-");
      }).concat(variant.segments.map(function (s) { return "seg:" + s; }));
      panel.appendChild(link(variant.key, parts));
    });
    document.body.appendChild(panel);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", show);
  } else {
    show();
  }
})(window, document);
