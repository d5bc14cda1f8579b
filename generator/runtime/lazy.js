/* sitegen lazy-component loader: reads the page's lazy-load manifest (#sitegen-lazy), waits
 * for each component's trigger (visible, idle, interaction, media query), and loads the
 * triggered ones by priority (lowest number first) through a queue of at most `concurrency`
 * requests at once. Each fragment replaces its placeholder's content; the placeholder keeps
 * its reserved height until then. window.sitegenLazy.log records starts and ends. */
(function (window, document) {
  "use strict";
  var node = document.getElementById("sitegen-lazy");
  if (!node || !window.fetch) return;
  var manifest;
  try {
    manifest = JSON.parse(node.textContent);
  } catch (error) {
    return;
  }
  var limit = Math.max(1, manifest.concurrency || 2);
  var waiting = [];
  var running = 0;
  var state = window.sitegenLazy = {log: [], loaded: {}};

  function pump() {
    while (running < limit && waiting.length) {
      waiting.sort(function (a, b) { return a.priority - b.priority; });
      load(waiting.shift());
    }
  }

  function load(entry) {
    running += 1;
    state.log.push("start:" + entry.id);
    window.fetch(entry.url, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      var slot = document.getElementById(entry.id);
      if (slot) {
        slot.innerHTML = html;
        slot.setAttribute("data-sg-loaded", "");
      }
      state.loaded[entry.id] = true;
    }).catch(function () {
      state.loaded[entry.id] = false; // the placeholder (and its <noscript>) stay
    }).then(function () {
      running -= 1;
      state.log.push("end:" + entry.id);
      pump();
    });
  }

  function trigger(entry) {
    if (entry.queued) return;
    entry.queued = true;
    waiting.push(entry);
    // Components triggered together are queued together, then taken by priority.
    window.setTimeout(pump, 0);
  }

  var observer = window.IntersectionObserver && new IntersectionObserver(function (seen) {
    seen.forEach(function (item) {
      if (item.isIntersecting) {
        observer.unobserve(item.target);
        trigger(item.target.sgLazy);
      }
    });
  }, {rootMargin: "200px"});
  var interactions = [];
  function interacted() {
    ["pointerdown", "keydown", "touchstart", "scroll"].forEach(function (type) {
      window.removeEventListener(type, interacted, true);
    });
    interactions.forEach(trigger);
  }
  ["pointerdown", "keydown", "touchstart", "scroll"].forEach(function (type) {
    window.addEventListener(type, interacted, {capture: true, passive: true});
  });

  function start() {
    manifest.components.forEach(watch);
  }

  function watch(entry) {
    var slot = document.getElementById(entry.id);
    if (!slot) return;
    if (entry.trigger === "visible" && observer) {
      slot.sgLazy = entry;
      observer.observe(slot);
    } else if (entry.trigger === "idle") {
      (window.requestIdleCallback || function (callback) {
        window.setTimeout(callback, 200);
      })(function () { trigger(entry); });
    } else if (entry.trigger === "interaction") {
      interactions.push(entry);
    } else if (entry.trigger === "media") {
      var query = window.matchMedia(entry.media);
      var check = function () {
        if (query.matches) trigger(entry);
      };
      check();
      if (query.addEventListener) query.addEventListener("change", check);
    } else {
      trigger(entry); // no IntersectionObserver: load it
    }
  }

  // A document about to be replaced by its variant loads nothing: the variant will.
  var sg = window.sitegen;
  if (sg && sg.whenShown && !sg.shown) {
    sg.whenShown.push(start);
  } else {
    start();
  }
})(window, document);
