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
  // On a /_variants/ URL (never linked; fetched by the swap, or opened by hand) the
  // document tells crawlers to keep away; at the page's own URL, whatever file the server
  // chose, it never does. (Apache and _headers also send X-Robots-Tag there.)
  if (window.location.pathname.indexOf("/_variants/") === 0) {
    var robots = document.createElement("meta");
    robots.name = "robots";
    robots.content = "noindex";
    document.head.appendChild(robots);
  }
  // Slots the build gave alternatives (<template data-sg-slot="file keys">) end with
  // sitegen.fill(document.currentScript): once the runtime has chosen a file other than the
  // one served, the slot takes that file's content as the parser reaches it, before it is
  // painted.
  sg.fill = function (script) {
    var key = " " + (sg.slotFile || "default") + " ";
    var node = script && script.previousSibling;
    var chosen = null;
    while (sg.slotFile !== undefined && node && node.nodeType !== 8) {
      if (node.getAttribute && (" " + node.getAttribute("data-sg-slot") + " ").indexOf(key) >= 0) chosen = node;
      node = node.previousSibling;
    }
    if (!chosen) return;
    while (node.previousSibling && node.previousSibling.data !== "sg-slot") {
      node.parentNode.removeChild(node.previousSibling);
    }
    node.parentNode.insertBefore(chosen.content.cloneNode(true), node);
  };
  var shownCallbacks = sg.whenShown = [];
  function show() {
    sg.shown = true;
    shownCallbacks.forEach(function (callback) { callback(); });
  }
  var prefix = config.prefix;
  var YEAR = 31536000;
  var GUARD_MS = 1000;
  var VISIT_MS = 1800000; // a visit ends after 30 minutes without a page view, as in analytics
  var CRAWLER = /bot|crawl|spider|slurp|lighthouse|headless|google|yandex|baidu|pingdom|gtmetrix|ptst|facebookexternal|archiv|preview|scrap|phantom|selenium|puppeteer|curl|wget|python|java|http|fetch|scan|monitor|check|feed|validator|whatsapp|embed|nutch/i;

  // Known crawlers (the patterns of the crawler list the analytics use that cover the
  // crawlers which run JavaScript) are never enrolled, never counted and never swapped:
  // they index the page at its URL as it is.
  if (CRAWLER.test(navigator.userAgent)) {
    sg.assignment = {crawler: true, visitor: "", segments: [], arms: {},
      variant: config.page.variant, served: config.page.variant};
    show();
    return;
  }

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
      (config.domain ? "; domain=" + config.domain : "") +
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
  // id, visit and arms are session cookies and no history is kept. sg.remember()
  // (called by sitegen.consent(true)) makes them last.
  var consented = !config.track.consent || cookies[prefix + "consent"] === "1";
  var lasting = consented ? YEAR : 0;
  var local = consented ? storage("localStorage") : null;
  var kept = {};
  function keep(name, value, maxAge) {
    kept[name] = maxAge;
    writeCookie(name, value, lasting && maxAge);
  }
  sg.remember = function () {
    lasting = YEAR;
    var now = readCookies();
    Object.keys(kept).forEach(function (name) { writeCookie(name, now[name], kept[name]); });
  };
  var query = {};
  window.location.search.replace(/^\?/, "").split("&").forEach(function (pair) {
    if (!pair) return;
    var at = pair.indexOf("=");
    var key = decodeURIComponent(at < 0 ? pair : pair.slice(0, at));
    query[key] = at < 0 ? "" : decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
  });

  // The visitor: a random first-party id, and a count of visits. A visit is per browser
  // (a cookie, not per-tab storage): it starts on the first page view after 30 minutes
  // without one, the rule the analytics sessions use, and keeps its id, page count, utm
  // parameters, referrer and QA overrides.
  var visitor = cookies[prefix + "id"] || newVisitorId();
  keep(prefix + "id", visitor, YEAR);
  var visits = parseInt(cookies[prefix + "visits"] || "0", 10) || 0;
  var now = Date.now();
  var visit = null;
  try {
    visit = JSON.parse(cookies[prefix + "visit"]);
  } catch (error) { /* none yet, or unreadable: a new visit */ }
  // The swapped-in document runs this again in the same window: the view is counted once.
  var again = window.sitegenSwapped !== undefined;
  if (!visit || !(now - visit.last <= VISIT_MS)) {
    visits += 1;
    var referrer = "";
    try {
      referrer = document.referrer ? new URL(document.referrer).hostname : "";
    } catch (error) { referrer = ""; }
    visit = {id: newVisitorId(), pages: 0, utm: {}, referrer: referrer, force: {}};
  }
  keep(prefix + "visits", String(visits), YEAR);
  if (!again) visit.pages += 1;
  visit.last = now;
  Object.keys(query).forEach(function (key) {
    if (key.indexOf("utm_") === 0) visit.utm[key.slice(4)] = query[key];
  });
  // QA override: ?sg=experiment:arm,seg:segment forces arms and segments for the visit.
  if (query.sg !== undefined) {
    query.sg.split(",").forEach(function (item) {
      if (item === "reset") visit.force = {};
      var parts = item.split(":");
      if (parts.length === 2) visit.force[parts[0] === "seg" ? "seg:" + parts[1]
        : parts[0]] = parts[1];
    });
  }
  // GrowthBook's override, ?<experiment key>=<arm index>, forces an arm the same way.
  config.experiments.forEach(function (experiment) {
    var index = sg.getQueryStringOverride(experiment.key, window.location.search,
      experiment.arms);
    if (index !== null) visit.force[experiment.key] = experiment.names[index];
  });
  keep(prefix + "visit", JSON.stringify(visit), VISIT_MS / 1000);

  var history = stored(local, "sg_history", []);
  var tags = config.page.tags || [];
  var width = window.innerWidth || document.documentElement.clientWidth || 1024;
  var attributes = Object.assign({}, config.page.attributes || {}, {
    // The page's own URL, also on a /_variants/ URL (conditions see the canonical page).
    path: config.page.url,
    query: query,
    utm: visit.utm,
    referrer: visit.referrer,
    visits: visits,
    pages: visit.pages,
    history: history,
    device: width < 768 ? "mobile" : width < 1024 ? "tablet" : "desktop",
    language: (navigator.language || "").toLowerCase(),
    hour: new Date().getHours()
  });
  var seen = history.concat(tags).filter(function (tag, index, all) {
    return all.indexOf(tag) === index;
  }).slice(-50);
  if (!again) store(local, "sg_history", seen);

  // Segments: every one whose condition holds, plus forced ones.
  function segmentsOf(attributes) {
    return Object.keys(config.segments).filter(function (id) {
      return visit.force["seg:" + id] !== undefined ||
        sg.evalCondition(attributes, config.segments[id]);
    }).sort();
  }
  var segments = segmentsOf(attributes);
  // The cookie is for the server's next answer: the segments with this page already in
  // the visit and its history, so the next page is served right without a swap.
  writeCookie(prefix + "seg", segmentsOf(Object.assign({}, attributes, {
    history: seen, pages: visit.pages + 1})).join("."), 0);

  // Experiments: sticky arms; a new bucket version re-enrols.
  var arms = {};
  config.experiments.forEach(function (experiment) {
    var name = prefix + "x_" + experiment.key;
    var saved = (cookies[name] || "").split(".");
    var arm = saved.length === 2 && saved[0] === String(experiment.bucketVersion)
      ? saved[1] : null;
    var forced = visit.force[experiment.key];
    if (forced !== undefined && (forced === "-" || experiment.names.indexOf(forced) >= 0)) {
      arm = forced;
    }
    if (arm === null || (arm !== "-" && experiment.names.indexOf(arm) < 0)) {
      var index = sg.assign(visitor, experiment);
      arm = index < 0 ? "-" : experiment.names[index];
    }
    keep(name, experiment.bucketVersion + "." + arm, YEAR);
    if (arm !== "-") arms[experiment.key] = arm;
  });

  // The variant this visitor is in on this page (most specific first, as .htaccess), and
  // the file that holds its content ("" the default page: a control arm changes nothing).
  var wanted = "";
  var file = "";
  for (var i = 0; i < config.page.variants.length; i++) {
    var variant = config.page.variants[i];
    var fits = variant.segments.every(function (s) { return segments.indexOf(s) >= 0; }) &&
      variant.arms.every(function (pair) { return arms[pair[0]] === pair[1]; });
    if (fits) {
      wanted = variant.key;
      file = variant.file;
      break;
    }
  }
  var served = config.page.variant;
  sg.assignment = {visitor: visitor, visit: visit.id, segments: segments, arms: arms,
    variant: wanted, served: served};
  var whole = config.page.whole;
  if (file === served || (whole.indexOf(file) < 0 && whole.indexOf(served) < 0)) {
    // Served right, or only slots differ: their alternatives are in this document.
    if (file !== served) sg.slotFile = file;
    show();
    return;
  }
  // Swap at most once per page view: document.write keeps this window, so the flag is
  // still set when the swapped-in document runs this again; no loop, whatever the server
  // answers.
  if (again) return show();
  window.sitegenSwapped = file;

  // The page or its template differs and the server did not route (first page of a new
  // visitor, or no rewrite rules on this host): fetch that file and swap it in, hiding the
  // page for at most GUARD_MS. (A style property, not a <style> element: the
  // Content-Security-Policy allows no inline styles.)
  var root = document.documentElement;
  root.style.visibility = "hidden";
  var revealed = false;
  var reveal = function () {
    revealed = true;
    root.style.visibility = "";
    sg.assignment.variant = served; // the served file stays: it is what was shown
    show();
  };
  var timer = window.setTimeout(reveal, GUARD_MS);
  var path = config.page.url; // not location.pathname: this may be a /_variants/ URL
  var target = file
    ? "/_variants/" + file + path + (path.slice(-1) === "/" ? "index.html" : "")
    : path;
  window.fetch(target, {credentials: "same-origin"}).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    return response.text();
  }).then(function (html) {
    if (revealed) return; // too late: the served file is already showing
    window.clearTimeout(timer);
    document.open();
    document.write(html);
    document.close();
  }).catch(reveal);
})(window, document);
