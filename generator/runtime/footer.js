/* sitegen visitor runtime, footer part: inline at the end of <body>, after the head part.
 * Tracking: each event is a GET of the build's pixel, so the host's own access log holds it.
 * Nothing is sent before the page has loaded, before consent when the site asks for it, or
 * when Do Not Track is on and respected, nor from a document that is about to be replaced
 * by its variant. Recommendations: the page's related list is redrawn from
 * /_sg/rec/<page>.json without the pages this visitor has already seen. */
(function (window, document) {
  "use strict";
  var config = window.sitegenConfig;
  var sg = window.sitegen;
  if (!config || !sg || !sg.assignment) return;
  var prefix = config.prefix;
  var track = config.track;
  var queued = [];
  var loaded = document.readyState === "complete";

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function load(key, fallback) {
    try {
      var value = window.localStorage.getItem(key);
      return value === null ? fallback : JSON.parse(value);
    } catch (error) {
      return fallback;
    }
  }

  function save(key, value) {
    if (track.consent && cookie(prefix + "consent") !== "1") return; // nothing lasting yet
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (error) { /* full or disabled */ }
  }

  function allowed() {
    if (!track.enabled || sg.assignment.crawler) return false;
    if (track.dnt && (navigator.doNotTrack === "1" || window.doNotTrack === "1")) return false;
    return !track.consent || cookie(prefix + "consent") === "1";
  }

  function send(type, detail) {
    if (!loaded || !allowed()) {
      queued.push([type, detail]);
      return;
    }
    // v: the variant this visitor was shown (a control arm shown by the default file is
    // still its arm); s: the visit, kept by the head part with the analytics' 30-minute rule.
    var fields = {e: type, p: config.page.url, v: sg.assignment.variant, b: config.page.build,
      u: sg.assignment.visitor, s: sg.assignment.visit, x: detail || "",
      g: sg.assignment.segments.join("."), t: Date.now()};
    if (type === "view") {
      // Where the visit came from, for the network report: another site's host (never its
      // path or query) and the campaign's utm_source.
      var from = document.referrer.split("/")[2] || "";
      if (from && from !== location.host) fields.r = from;
      var utm = /[?&]utm_source=([^&#]*)/.exec(location.search);
      try {
        if (utm) fields.m = decodeURIComponent(utm[1].replace(/\+/g, " ")).slice(0, 100);
      } catch (error) { /* a malformed escape: no campaign */ }
    }
    var url = track.pixel + "?" + Object.keys(fields).map(function (key) {
      return key + "=" + encodeURIComponent(fields[key]);
    }).join("&");
    // A click usually leaves the page: an image request would be cancelled with it, a
    // beacon is delivered anyway (its request line, query included, reaches the log).
    if (type === "view" || !navigator.sendBeacon || !navigator.sendBeacon(url)) {
      new Image().src = url;
    }
    if (track.collector && navigator.sendBeacon) {
      navigator.sendBeacon(track.collector, JSON.stringify(fields));
    }
  }

  function flush() {
    var waiting = queued;
    queued = [];
    waiting.forEach(function (event) { send(event[0], event[1]); });
  }

  sg.track = send;
  sg.consent = function (granted) {
    document.cookie = prefix + "consent=" + (granted ? "1" : "0") +
      "; path=/; max-age=31536000; SameSite=Lax" +
      (config.domain ? "; domain=" + config.domain : "");
    if (granted) {
      if (sg.remember) sg.remember();
      flush();
    }
  };

  function showRelated(seen) {
    var list = document.querySelector("[data-sg-related]");
    if (!list || !window.fetch) return;
    var path = config.page.url.replace(/^\/|\/$/g, "") || "index";
    window.fetch("/_sg/rec/" + path + ".json").then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (found) {
      if (!found) return;
      var fresh = found.related.filter(function (page) { return seen.indexOf(page.url) < 0; });
      if (fresh.length === found.related.length || !fresh.length) return;
      list.textContent = "";
      fresh.forEach(function (page) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = page.url;
        link.setAttribute("data-sg-rec", page.url);
        link.textContent = page.title;
        item.appendChild(link);
        list.appendChild(item);
      });
    }).catch(function () { /* the build-time list stays */ });
  }

  function start() {
    var seen = load("sg_seen", []);
    showRelated(seen);
    save("sg_seen", seen.filter(function (url) {
      return url !== config.page.url;
    }).concat([config.page.url]).slice(-100));
    send("view", "");
    track.goals.forEach(function (goal) {
      if (goal.page && goal.page === config.page.url) {
        send("goal", goal.experiment + ":" + goal.id);
      }
    });
    document.addEventListener("click", function (event) {
      var target = event.target;
      if (!target || !target.closest) return;
      track.goals.forEach(function (goal) {
        if (goal.click && target.closest(goal.click)) {
          send("click", goal.experiment + ":" + goal.id);
        }
      });
      var marked = target.closest("[data-sg-goal],[data-sg-rec]");
      if (marked) {
        var rec = marked.getAttribute("data-sg-rec");
        send(rec ? "rec" : "goal", rec || marked.getAttribute("data-sg-goal"));
      }
    }, true);
    if (!loaded) {
      window.addEventListener("load", function () {
        loaded = true;
        flush();
      });
    }
  }

  // Browsers without speculation rules: <link rel="prefetch"> for the pages the build
  // listed as this page's likeliest next ones.
  var rules = document.querySelector('script[type="speculationrules"]');
  var supports = window.HTMLScriptElement && HTMLScriptElement.supports;
  if (rules && !(supports && HTMLScriptElement.supports("speculationrules"))) {
    try {
      JSON.parse(rules.textContent).prefetch.forEach(function (rule) {
        (rule.urls || []).forEach(function (url) {
          var link = document.createElement("link");
          link.rel = "prefetch";
          link.href = url;
          document.head.appendChild(link);
        });
      });
    } catch (error) { /* rules the build wrote; nothing to fall back to */ }
  }

  if (sg.shown) {
    start();
  } else {
    // A variant is on its way (this document is then replaced); if it never comes, the
    // served file is shown and counted.
    sg.whenShown.push(start);
  }
})(window, document);
