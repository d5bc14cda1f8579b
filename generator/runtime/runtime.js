/* sitegen visitor runtime, head part: runs inline in <head>, before first paint, with no
 * request. (Tracking and recommendations run later, from footer.js at the end of <body>.)
 * Reads its config (a JSON block the build writes into every page; kept as
 * window.sitegenConfig for the footer part), works out the visitor's
 * attributes, segments and experiment arms, keeps them in first-party cookies for the server
 * rules (.htaccess) to route on, and, when the server could not route (a new visitor's first
 * page, or a host without rewrites), swaps the right prebuilt variant in behind a short
 * anti-flicker guard. Uses window.sitegen from assign.js. */
(function (window, document) {
  "use strict";
  var config;
  try {
    config = JSON.parse(document.getElementById("sitegen-config").textContent);
  } catch (error) {
    return;
  }
  window.sitegenConfig = config;
  var sg = window.sitegen;
  if (!config || !sg) return;
  var prefix = config.prefix;
  var YEAR = 31536000;
  var GUARD_MS = 1000;

  function readCookies() {
    var cookies = {};
    document.cookie.split(/;\s*/).forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at > 0) cookies[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1));
    });
    return cookies;
  }

  function writeCookie(name, value, maxAge) {
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; SameSite=Lax" +
      (maxAge ? "; max-age=" + maxAge : "") +
      (window.location.protocol === "https:" ? "; Secure" : "");
  }

  function storage(kind) {
    try {
      return window[kind];
    } catch (error) {
      return null; // storage disabled: attributes that need it stay empty
    }
  }

  function stored(store, key, fallback) {
    try {
      var value = store && store.getItem(key);
      return value === null || value === undefined ? fallback : JSON.parse(value);
    } catch (error) {
      return fallback;
    }
  }

  function store(where, key, value) {
    try {
      if (where) where.setItem(key, JSON.stringify(value));
    } catch (error) { /* full or disabled: nothing to keep */ }
  }

  function newVisitorId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  var cookies = readCookies();
  // Until a site that asks for consent has it, nothing outlives the browser session: the
  // id, visit count and arms are session cookies and no history is kept. sg.remember()
  // (called by sitegen.consent(true)) makes them last.
  var consented = !config.track.consent || cookies[prefix + "consent"] === "1";
  var lasting = consented ? YEAR : 0;
  var session = storage("sessionStorage");
  var local = consented ? storage("localStorage") : null;
  var kept = {};
  function keep(name, value) {
    kept[name] = value;
    writeCookie(name, value, lasting);
  }
  sg.remember = function () {
    lasting = YEAR;
    Object.keys(kept).forEach(function (name) { writeCookie(name, kept[name], YEAR); });
  };
  var query = {};
  window.location.search.replace(/^\?/, "").split("&").forEach(function (pair) {
    if (!pair) return;
    var at = pair.indexOf("=");
    var key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    query[key] = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
  });

  // The visitor: a random first-party id, and a count of visits (sessions).
  var visitor = cookies[prefix + "id"] || newVisitorId();
  keep(prefix + "id", visitor);
  var visits = parseInt(cookies[prefix + "visits"] || "0", 10) || 0;
  var sessionState = stored(session, "sg_session", null);
  if (!sessionState) {
    visits += 1;
    var referrer = "";
    try {
      referrer = document.referrer ? new URL(document.referrer).hostname : "";
    } catch (error) { referrer = ""; }
    sessionState = {pages: 0, utm: {}, referrer: referrer, force: {}};
  }
  keep(prefix + "visits", String(visits));
  sessionState.pages += 1;
  Object.keys(query).forEach(function (key) {
    if (key.indexOf("utm_") === 0) sessionState.utm[key.slice(4)] = query[key];
  });
  // QA override: ?sg=experiment:arm,seg:segment forces arms and segments for the session.
  if (query.sg !== undefined) {
    query.sg.split(",").forEach(function (item) {
      if (item === "reset") sessionState.force = {};
      var parts = item.split(":");
      if (parts.length === 2) sessionState.force[parts[0] === "seg" ? "seg:" + parts[1]
        : parts[0]] = parts[1];
    });
  }
  store(session, "sg_session", sessionState);

  var history = stored(local, "sg_history", []);
  var width = window.innerWidth || document.documentElement.clientWidth || 1024;
  var attributes = Object.assign({}, config.page.attributes || {}, {
    // The page's own URL, also on a /_variants/ URL (conditions see the canonical page).
    path: config.page.url,
    query: query,
    utm: sessionState.utm,
    referrer: sessionState.referrer,
    visits: visits,
    pages: sessionState.pages,
    history: history,
    device: width < 768 ? "mobile" : width < 1024 ? "tablet" : "desktop",
    language: (navigator.language || "").toLowerCase(),
    hour: new Date().getHours()
  });
  var seen = history.concat(config.page.tags || []);
  store(local, "sg_history", seen.filter(function (tag, index) {
    return seen.indexOf(tag) === index;
  }).slice(-50));

  // Segments: every one whose condition holds, plus forced ones.
  var segments = Object.keys(config.segments).filter(function (id) {
    return sessionState.force["seg:" + id] !== undefined ||
      sg.evalCondition(attributes, config.segments[id]);
  }).sort();
  writeCookie(prefix + "seg", segments.join("."), 0);

  // Experiments: sticky arms; a new bucket version re-enrols.
  var arms = {};
  config.experiments.forEach(function (experiment) {
    var name = prefix + "x_" + experiment.key;
    var saved = (cookies[name] || "").split(".");
    var arm = saved.length === 2 && saved[0] === String(experiment.bucketVersion)
      ? saved[1] : null;
    var forced = sessionState.force[experiment.key];
    if (forced !== undefined && (forced === "-" || experiment.names.indexOf(forced) >= 0)) {
      arm = forced;
    }
    if (arm === null || (arm !== "-" && experiment.names.indexOf(arm) < 0)) {
      var index = sg.assign(visitor, experiment);
      arm = index < 0 ? "-" : experiment.names[index];
    }
    keep(name, experiment.bucketVersion + "." + arm);
    if (arm !== "-") arms[experiment.key] = arm;
  });

  // The variant this visitor should see on this page (most specific first, as .htaccess).
  var wanted = "";
  for (var i = 0; i < config.page.variants.length; i++) {
    var variant = config.page.variants[i];
    var fits = variant.segments.every(function (s) { return segments.indexOf(s) >= 0; }) &&
      variant.arms.every(function (pair) { return arms[pair[0]] === pair[1]; });
    if (fits) {
      wanted = variant.key;
      break;
    }
  }
  sg.assignment = {visitor: visitor, segments: segments, arms: arms, variant: wanted,
    served: config.page.variant};
  if (wanted === config.page.variant) {
    sg.shown = true; // this document is what the visitor sees: footer scripts may track
    return;
  }
  // Swap at most once per page view: document.write keeps this window, so the flag is
  // still set when the swapped-in document runs this again; no loop, whatever the server
  // answers.
  if (window.sitegenSwapped === wanted) return;
  window.sitegenSwapped = wanted;

  // The server did not route (first page of a new visitor, or no rewrite rules on this
  // host): fetch the prebuilt variant and swap it in, hiding the page for at most GUARD_MS.
  // (A style property, not a <style> element: the Content-Security-Policy allows no
  // inline styles.)
  var root = document.documentElement;
  root.style.visibility = "hidden";
  var revealed = false;
  var reveal = function () {
    revealed = true;
    root.style.visibility = "";
    sg.shown = true; // the default stays: it is what this visitor was shown
    if (sg.onShown) sg.onShown();
  };
  var timer = window.setTimeout(reveal, GUARD_MS);
  var path = config.page.url; // not location.pathname: this may be a /_variants/ URL
  var target = wanted
    ? "/_variants/" + wanted + path + (path.slice(-1) === "/" ? "index.html" : "")
    : path;
  window.fetch(target, {credentials: "same-origin"}).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    return response.text();
  }).then(function (html) {
    if (revealed) return; // too late: the default is already showing
    window.clearTimeout(timer);
    document.open();
    document.write(html);
    document.close();
  }).catch(reveal);
})(window, document);
