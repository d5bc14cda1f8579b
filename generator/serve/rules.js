/* The rule builder of `sitegen serve` (/_sitegen/rules): the sites' segments, rules,
 * experiments and flags with where each comes from; forms to create and edit them; who sees
 * what for a visitor profile, with the edit applied before it is saved; and the write,
 * after the diff is shown. The server checks every edit with the build's own code. */
(function (window, document) {
  "use strict";
  var token = document.querySelector('meta[name="sitegen-token"]').content;
  var ID = /^[a-z0-9][a-z0-9_-]*$/;
  var state = { tree: null, site: null, editing: null, timer: 0, sequence: 0 };
  var LABELS = { segments: "segment", rules: "rule", experiments: "experiment", features: "feature flag" };

  function $(id) { return document.getElementById(id); }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name.indexOf("on") === 0) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function api(method, name, body) {
    return window.fetch("/_sitegen/api/" + name, {
      method: method,
      headers: { "Content-Type": "application/json", "X-Sitegen-Token": token },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok && !data.error) data.error = "HTTP " + response.status;
        return data;
      });
    });
  }

  /* --- the tree -------------------------------------------------------------------- */

  function siteByName(name) {
    return state.tree.sites.filter(function (site) { return site.name === name; })[0];
  }

  function loadTree() {
    return api("GET", "tree").then(function (tree) {
      if (tree.error) {
        $("context").textContent = tree.error;
        return;
      }
      state.tree = tree;
      $("context").textContent = "Serving " + tree.served + " (" + tree.environment +
        "). Saving writes the site's site.yaml; the preview rebuilds by itself.";
      renderTree();
      selectSite(state.site || tree.served);
      renderOverrides();
    });
  }

  function renderTree() {
    var children = {};
    state.tree.sites.forEach(function (site) {
      var parent = site.parent || "";
      (children[parent] = children[parent] || []).push(site);
    });
    function list(parent) {
      var sites = children[parent] || [];
      if (!sites.length) return null;
      return el("ul", {}, sites.map(function (site) {
        var counts = ["segments", "rules", "experiments", "features"].map(function (kind) {
          return site[kind].filter(function (e) { return e.origin !== "disables"; }).length;
        });
        return el("li", {}, [
          el("button", {
            type: "button", text: site.name + (site.abstract ? " (abstract)" : ""),
            "aria-current": site.name === state.site ? "true" : null,
            "data-site": site.name,
            onclick: function () { selectSite(site.name); }
          }),
          el("span", { class: "counts", text: " " + counts.join("·") }),
          list(site.name)
        ]);
      }));
    }
    var tree = $("tree");
    tree.textContent = "";
    tree.appendChild(list("") || el("p", { text: "No sites." }));
    tree.appendChild(el("p", { class: "hint", text: "Counts: segments·rules·experiments·flags" }));
  }

  function selectSite(name) {
    state.site = name;
    Array.prototype.forEach.call(document.querySelectorAll("#tree button"), function (button) {
      if (button.getAttribute("data-site") === name) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    });
    var site = siteByName(name);
    $("site-title").textContent = "Site " + name + (site.parent ? " (extends " + site.parent + ")" : "");
    var box = $("entries");
    box.textContent = "";
    ["segments", "rules", "experiments", "features"].forEach(function (kind) {
      var rows = site[kind].map(function (entry) {
        return el("tr", {}, [
          el("th", { scope: "row" }, [el("code", { text: entry.id })]),
          el("td", {}, [el("span", { class: "origin origin-" + entry.origin, text: entry.origin })]),
          el("td", { class: "where", text: entry.where }),
          el("td", {}, [entry.origin === "disables" ? null : el("button", {
            type: "button", class: "quiet", text: "Edit",
            "aria-label": "Edit " + LABELS[kind] + " " + entry.id,
            onclick: function () { openEditor(kind, entry); }
          })])
        ]);
      });
      var title = kind === "features" ? "Feature flags" : kind.charAt(0).toUpperCase() + kind.slice(1);
      box.appendChild(el("h3", { text: title }));
      if (rows.length) {
        box.appendChild(el("table", {}, [
          el("thead", {}, [el("tr", {}, ["Id", "Origin", "From", ""].map(function (h) {
            return el("th", { scope: "col", text: h });
          }))]),
          el("tbody", {}, rows)
        ]));
      } else {
        box.appendChild(el("p", { class: "hint", text: "None." }));
      }
      {
        box.appendChild(el("button", {
          type: "button", text: "New " + LABELS[kind], id: "new-" + kind,
          onclick: function () { openEditor(kind, null); }
        }));
      }
    });
  }

  /* --- conditions ------------------------------------------------------------------ */

  function typed(type, text) {
    if (type === "number") return Number(text);
    if (type === "boolean") return text === "true";
    if (type === "null") return null;
    if (type === "list") {
      return text.split(",").map(function (part) { return part.trim(); })
        .filter(function (part) { return part; })
        .map(function (part) { return isNaN(Number(part)) ? part : Number(part); });
    }
    return text;
  }

  function typeOf(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "list";
    if (typeof value === "number") return "number";
    if (typeof value === "boolean") return "boolean";
    return "text";
  }

  function isOperators(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value) &&
      Object.keys(value).length > 0 &&
      Object.keys(value).every(function (key) { return key.charAt(0) === "$"; });
  }

  /* A group: all (AND) or any (OR) of rows and nested groups. */
  function conditionGroup(condition, mode, changed) {
    var items = [];
    var box = el("div", { class: "group" });
    var modeSelect = el("select", { "aria-label": "combine", onchange: changed }, [
      el("option", { value: "$and", text: "all of", selected: mode === "$and" }),
      el("option", { value: "$or", text: "any of", selected: mode === "$or" })
    ]);
    var list = el("div", {});
    function addRow(attribute, operator, value) {
      var row = conditionRow(attribute, operator, value, changed, function () {
        items.splice(items.indexOf(row), 1);
        list.removeChild(row.element);
        changed();
      });
      items.push(row);
      list.appendChild(row.element);
    }
    function addGroup(inner, innerMode) {
      var group = conditionGroup(inner, innerMode, changed);
      var wrapper = el("div", {}, [group.element, el("button", {
        type: "button", class: "quiet", text: "Remove group",
        onclick: function () { items.splice(items.indexOf(entry), 1); list.removeChild(wrapper); changed(); }
      })]);
      var entry = { element: wrapper, value: group.value };
      items.push(entry);
      list.appendChild(wrapper);
    }
    function simple(part) {
      var keys = Object.keys(part || {});
      return keys.length === 1 && keys[0].charAt(0) !== "$";
    }
    function load(part) {
      Object.keys(part || {}).forEach(function (key) {
        var value = part[key];
        if (key === "$and") value.forEach(load);
        else if (key === "$or") addGroup({ $or: value }, "$or");
        else if (isOperators(value)) {
          Object.keys(value).forEach(function (operator) { addRow(key, operator, value[operator]); });
        } else addRow(key, "is", value);
      });
    }
    if (condition && Object.keys(condition).length === 1 && condition.$or) {
      mode = "$or";
      modeSelect.value = "$or";
    }
    if (mode === "$or") {
      ((condition && condition.$or) || []).forEach(function (inner) {
        if (simple(inner)) load(inner);
        else addGroup(inner, "$and");
      });
    } else {
      load(condition);
    }
    box.appendChild(el("div", { class: "row" }, [el("span", { text: "Visitors matching " }), modeSelect]));
    box.appendChild(list);
    box.appendChild(el("div", { class: "row" }, [
      el("button", { type: "button", class: "quiet", text: "Add condition",
        onclick: function () { addRow("", "is", ""); changed(); } }),
      el("button", { type: "button", class: "quiet", text: "Add group",
        onclick: function () { addGroup({}, "$or"); changed(); } })
    ]));
    return {
      element: box,
      value: function () {
        var parts = items.map(function (item) { return item.value(); })
          .filter(function (part) { return part && Object.keys(part).length; });
        if (modeSelect.value === "$or") return parts.length ? { $or: parts } : {};
        // One mapping when every attribute appears once; `$and` of the parts otherwise.
        var merged = {};
        var clash = false;
        parts.forEach(function (part) {
          Object.keys(part).forEach(function (key) {
            if (key in merged || key.charAt(0) === "$") clash = true;
            merged[key] = part[key];
          });
        });
        return clash ? { $and: parts } : merged;
      }
    };
  }

  function conditionRow(attribute, operator, value, changed, remove) {
    var operators = ["is"].concat(state.tree.operators.filter(function (op) {
      return ["$not", "$elemMatch"].indexOf(op) < 0;
    }));
    var attributeInput = el("input", { "aria-label": "attribute", list: "attributes", value: attribute,
      placeholder: "utm.source", oninput: changed, autocomplete: "off" });
    var operatorSelect = el("select", { "aria-label": "operator", onchange: changed },
      operators.map(function (op) {
        return el("option", { value: op, text: op === "is" ? "is" : op, selected: op === operator });
      }));
    var type = typeOf(value);
    var valueInput = el("input", { "aria-label": "value", oninput: changed, autocomplete: "off",
      value: type === "list" ? value.join(", ") : (value === null ? "" : String(value)) });
    var typeSelect = el("select", { "aria-label": "value type", onchange: changed },
      ["text", "number", "boolean", "list", "null"].map(function (name) {
        return el("option", { value: name, text: name, selected: name === type });
      }));
    var element = el("div", { class: "row" }, [attributeInput, operatorSelect, valueInput, typeSelect,
      el("button", { type: "button", class: "quiet", text: "Remove", "aria-label": "Remove condition",
        onclick: remove })]);
    return {
      element: element,
      value: function () {
        var name = attributeInput.value.trim();
        if (!name) return null;
        var parsed = typed(typeSelect.value, valueInput.value);
        var result = {};
        if (operatorSelect.value === "is") result[name] = parsed;
        else { result[name] = {}; result[name][operatorSelect.value] = parsed; }
        return result;
      }
    };
  }

  /* --- the editor ------------------------------------------------------------------ */

  function field(label, input) { return el("label", {}, [label, input]); }

  function lines(text) {
    return text.split(/[\n,]/).map(function (part) { return part.trim(); }).filter(Boolean);
  }

  function targets(kind, entry) {
    // Where the entry may be written: where it comes from, the selected site, its children.
    var names = [];
    if (entry) names.push(entry.from);
    names.push(state.site);
    state.tree.sites.forEach(function (site) {
      if (site.parent === state.site) names.push(site.name);
    });
    return names.filter(function (name, index) { return names.indexOf(name) === index; });
  }

  function openEditor(kind, entry) {
    var value = entry ? JSON.parse(JSON.stringify(entry.value)) : {};
    var form = $("form");
    form.textContent = "";
    $("problem").textContent = "";
    $("saved").textContent = "";
    $("diff-box").hidden = true;
    $("editor").hidden = false;
    $("editor-title").textContent = (entry ? "Edit " : "New ") + LABELS[kind] +
      (entry ? " " + entry.id : "");
    var idInput = el("input", { name: "id", required: true, value: entry ? entry.id : "",
      readonly: !!entry, oninput: schedule, autocomplete: "off", pattern: "[a-z0-9][a-z0-9_-]*" });
    var target = el("select", { name: "target", onchange: schedule }, targets(kind, entry).map(function (name) {
      var label = entry && name === entry.from ? name + " (where it is defined)" :
        (entry ? name + " (an override)" : name);
      return el("option", { value: name, text: label });
    }));
    form.appendChild(el("div", { class: "grid" }, [field("Id", idInput), field("Write into", target)]));
    var read;
    if (kind === "segments") read = segmentForm(form, value);
    else if (kind === "rules") read = ruleForm(form, value);
    else if (kind === "experiments") read = experimentForm(form, value);
    else read = flagForm(form, value);
    state.editing = {
      kind: kind,
      read: function () {
        var id = idInput.value.trim();
        if (!ID.test(id)) throw new Error("The id must start with a lower-case letter or digit and hold only a-z, 0-9, '-' and '_'.");
        return { site: target.value, kind: kind, id: id, value: read() };
      },
      globs: read.globs
    };
    idInput.focus();
    schedule();
  }

  function segmentForm(form, value) {
    var description = el("input", { name: "description", value: value.description || "", oninput: schedule });
    form.appendChild(field("Description", description));
    var builder = conditionGroup(value.condition || {}, "$and", schedule);
    form.appendChild(el("fieldset", {}, [el("legend", { text: "Condition" }), builder.element]));
    return function () {
      var result = {};
      if (description.value.trim()) result.description = description.value.trim();
      result.condition = builder.value();
      return result;
    };
  }

  function pagesField(form, pages) {
    var input = el("textarea", { name: "pages", rows: 2, oninput: schedule,
      text: (pages || ["/**"]).join("\n") });
    form.appendChild(field("Pages (URL globs, one per line)", input));
    form.appendChild(el("p", { class: "matched", id: "matched", "aria-live": "polite" }));
    return input;
  }

  function ruleForm(form, value) {
    var then = value.then || {};
    var when = value.when;
    var segmentIds = siteByName(state.site).segments.filter(function (s) {
      return s.origin !== "disables";
    }).map(function (s) { return s.id; });
    var mode = el("select", { name: "when-mode", onchange: function () { toggle(); schedule(); } }, [
      el("option", { value: "segment", text: "a segment", selected: typeof when !== "object" }),
      el("option", { value: "condition", text: "a condition written here", selected: typeof when === "object" })
    ]);
    var segment = el("select", { name: "segment", onchange: schedule }, segmentIds.map(function (id) {
      return el("option", { value: id, text: id, selected: id === when });
    }));
    var builder = conditionGroup(typeof when === "object" && when ? when.condition : {}, "$and", schedule);
    var inline = el("fieldset", {}, [el("legend", { text: "Condition" }), builder.element]);
    function toggle() {
      segment.parentNode.hidden = mode.value !== "segment";
      inline.hidden = mode.value === "segment";
    }
    form.appendChild(el("div", { class: "grid" }, [field("When the visitor matches", mode), field("Segment", segment)]));
    form.appendChild(inline);
    toggle();
    var pages = pagesField(form, value.pages);
    var priority = el("input", { name: "priority", type: "number", value: value.priority || 0, oninput: schedule });
    form.appendChild(field("Priority (higher wins a slot)", priority));
    var inputs = {};
    var changes = el("fieldset", {}, [el("legend", { text: "Then" })].concat(
      ["slot", "markdown", "partial", "template", "page"].map(function (name) {
        inputs[name] = el("input", { name: "then-" + name, value: then[name] || "", oninput: schedule, autocomplete: "off" });
        return field(name, inputs[name]);
      })));
    form.appendChild(changes);
    var read = function () {
      var result = {};
      result.when = mode.value === "segment" ? segment.value : { condition: builder.value() };
      result.pages = lines(pages.value);
      var number = Number(priority.value || 0);
      if (number) result.priority = number;
      result.then = {};
      Object.keys(inputs).forEach(function (name) {
        if (inputs[name].value.trim()) result.then[name] = inputs[name].value.trim();
      });
      return result;
    };
    read.globs = function () { return lines(pages.value); };
    return read;
  }

  function experimentForm(form, value) {
    var arms = value.arms || { control: 0.5, treatment: 0.5 };
    var armRows = el("tbody", {});
    var sum = el("p", { "aria-live": "polite" });
    function addArm(name, arm) {
      var weight = typeof arm === "number" ? arm : (arm && arm.weight) || 0;
      var markdown = typeof arm === "object" && arm ? arm.markdown || "" : "";
      var row = el("tr", {}, [
        el("td", {}, [el("input", { "aria-label": "arm name", value: name, oninput: schedule, autocomplete: "off" })]),
        el("td", {}, [el("input", { "aria-label": "arm weight", type: "number", step: "0.05", min: "0", max: "1", value: weight, oninput: schedule })]),
        el("td", {}, [el("input", { "aria-label": "arm markdown", value: markdown, oninput: schedule, autocomplete: "off" })]),
        el("td", {}, [el("button", { type: "button", class: "quiet", text: "Remove",
          onclick: function () { armRows.removeChild(row); schedule(); } })])
      ]);
      armRows.appendChild(row);
    }
    Object.keys(arms).forEach(function (name) { addArm(name, arms[name]); });
    form.appendChild(el("fieldset", {}, [el("legend", { text: "Arms" }),
      el("table", {}, [el("thead", {}, [el("tr", {}, ["Arm", "Weight", "Markdown (slot text)", ""].map(function (h) {
        return el("th", { scope: "col", text: h });
      }))]), armRows]),
      el("button", { type: "button", class: "quiet", text: "Add arm", onclick: function () { addArm("", 0); schedule(); } }),
      sum]));
    var coverage = el("input", { name: "coverage", type: "number", step: "0.05", min: "0", max: "1",
      value: value.coverage === undefined ? 1 : value.coverage, oninput: schedule });
    var status = el("select", { name: "status", onchange: schedule }, ["draft", "running", "stopped", "concluded"].map(function (s) {
      return el("option", { value: s, text: s, selected: s === (value.status || "draft") });
    }));
    var slot = el("input", { name: "slot", value: value.slot || "", oninput: schedule, autocomplete: "off" });
    form.appendChild(el("div", { class: "grid" }, [field("Coverage", coverage), field("Status", status), field("Slot", slot)]));
    var pages = pagesField(form, value.pages);
    var goals = el("textarea", { name: "goals", rows: 2, oninput: schedule,
      text: (value.goals || []).map(function (goal) { return goal.page || ("click " + goal.click); }).join("\n") });
    form.appendChild(field("Goals (a page URL, or 'click <CSS selector>', one per line)", goals));
    var read = function () {
      var result = { arms: {} };
      var total = 0;
      Array.prototype.forEach.call(armRows.rows, function (row) {
        var inputs = row.querySelectorAll("input");
        var name = inputs[0].value.trim();
        if (!name) return;
        var weight = Number(inputs[1].value || 0);
        total += weight;
        result.arms[name] = inputs[2].value.trim() ? { weight: weight, markdown: inputs[2].value.trim() } : weight;
      });
      sum.textContent = "Weights sum to " + Math.round(total * 1000) / 1000 + (Math.abs(total - 1) > 1e-9 ? " (must be 1)" : "");
      sum.className = Math.abs(total - 1) > 1e-9 ? "sum-wrong" : "";
      if (Number(coverage.value) !== 1) result.coverage = Number(coverage.value);
      result.pages = lines(pages.value);
      if (slot.value.trim()) result.slot = slot.value.trim();
      result.status = status.value;
      var goalList = goals.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
      if (goalList.length) {
        result.goals = goalList.map(function (line) {
          return line.indexOf("click ") === 0 ? { click: line.slice(6).trim() } : { page: line };
        });
      }
      return result;
    };
    read.globs = function () { return lines(pages.value); };
    return read;
  }

  /* A feature flag as GrowthBook's model (default, rules with conditions, force,
   * variations), written as JSON: the build checks it like any other entry. */
  function flagForm(form, value) {
    if (!Object.keys(value).length) value = { default: false, rules: [] };
    var text = el("textarea", { name: "flag", rows: 10, oninput: schedule,
      text: JSON.stringify(value, null, 2) });
    form.appendChild(el("label", { class: "wide" }, ["The flag (JSON: default, rules)", text]));
    return function () {
      try { return JSON.parse(text.value); }
      catch (error) { throw new Error("The flag is not JSON: " + error.message); }
    };
  }

  /* --- preview, review, write ------------------------------------------------------ */

  function profile() {
    var form = $("profile");
    var attributes = {};
    var problem = "";
    ["utm.source", "utm.medium", "utm.campaign", "referrer", "language"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (!value) return;
      var path = name.split(".");
      if (path.length === 2) (attributes[path[0]] = attributes[path[0]] || {})[path[1]] = value;
      else attributes[name] = value;
    });
    attributes.visits = Number(form.elements.visits.value || 1);
    attributes.hour = Number(form.elements.hour.value || 0);
    attributes.device = form.elements.device.value;
    attributes.history = lines(form.elements.history.value);
    var custom = form.elements.custom.value.trim();
    if (custom) {
      try { Object.assign(attributes, JSON.parse(custom)); }
      catch (error) { problem = "Custom attributes: not JSON (" + error.message + ")"; }
    }
    var arms = {};
    Array.prototype.forEach.call(document.querySelectorAll("#arm-overrides select"), function (select) {
      if (select.value) arms[select.name] = select.value;
    });
    $("profile-problem").textContent = problem;
    return { attributes: attributes, arms: arms, visitor: form.elements.visitor.value.trim() };
  }

  function renderOverrides() {
    var box = $("arm-overrides");
    box.textContent = "";
    var served = siteByName(state.tree.served);
    served.experiments.forEach(function (entry) {
      if (entry.origin === "disables") return;
      var arms = Object.keys(entry.value.arms || {});
      box.appendChild(field("Arm of " + entry.id, el("select", { name: entry.value.key || entry.id, onchange: schedule },
        [el("option", { value: "", text: "by visitor id" }), el("option", { value: "-", text: "not enrolled" })]
          .concat(arms.map(function (arm) { return el("option", { value: arm, text: arm }); })))));
    });
  }

  function schedule() {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(refresh, 200);
  }

  function currentEdit() {
    if (!state.editing || $("editor").hidden) return { edit: null };
    try { return { edit: state.editing.read() }; }
    catch (error) { return { edit: null, problem: error.message }; }
  }

  function refresh() {
    var current = currentEdit();
    var request = { profile: profile(), edit: current.edit };
    if (state.editing && state.editing.globs && !$("editor").hidden) request.globs = state.editing.globs();
    var sequence = ++state.sequence;
    $("diff-box").hidden = true;
    return api("POST", "preview", request).then(function (answer) {
      if (sequence !== state.sequence) return;  // a newer edit is on its way
      $("problem").textContent = current.problem || answer.error || "";
      if (answer.matched && $("matched")) {
        $("matched").textContent = answer.matched.length + " page(s) match: " + answer.matched.join(", ");
      }
      if (answer.pages) renderOutcome(answer.pages);
    });
  }

  function renderOutcome(pages) {
    var body = document.querySelector("#outcome tbody");
    body.textContent = "";
    pages.forEach(function (page) {
      var decided = page.error ? page.error : page.decided.map(function (d) {
        return d.slot + ": " + d.by;
      }).join("; ");
      body.appendChild(el("tr", { "data-url": page.url }, [
        el("th", { scope: "row" }, [el("code", { text: page.url })]),
        el("td", { text: page.variant || "default" }),
        el("td", { text: decided || "nothing: the default page" })
      ]));
    });
  }

  function review() {
    var current = currentEdit();
    if (!current.edit) {
      $("problem").textContent = current.problem || "Nothing to write.";
      return;
    }
    api("POST", "plan", { edit: current.edit }).then(function (answer) {
      $("problem").textContent = answer.error || "";
      if (answer.error) return;
      var diff = $("diff");
      diff.textContent = "";
      (answer.diff || "(no change)").split("\n").forEach(function (line) {
        var kind = line.indexOf("+") === 0 && line.indexOf("+++") !== 0 ? "added" :
          (line.indexOf("-") === 0 && line.indexOf("---") !== 0 ? "removed" : null);
        diff.appendChild(el("span", { class: kind, text: line + "\n" }));
      });
      $("diff-file").textContent = answer.file;
      $("diff-box").hidden = false;
      $("write").disabled = !answer.diff;
      state.planned = current.edit;
    });
  }

  function write() {
    var edit = state.planned;
    var site = siteByName(edit.site);
    api("POST", "save", { edit: edit, digest: site.digest }).then(function (answer) {
      if (answer.error) {
        $("problem").textContent = answer.error;
        return;
      }
      $("diff-box").hidden = true;
      var editing = state.editing;
      return loadTree().then(function () {
        state.editing = editing;
        $("saved").textContent = "Written to " + answer.file + "; the preview rebuilds.";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("review").addEventListener("click", review);
    $("write").addEventListener("click", write);
    $("close").addEventListener("click", function () { $("editor").hidden = true; state.editing = null; schedule(); });
    $("profile").addEventListener("input", schedule);
    $("profile").addEventListener("change", schedule);
    loadTree().then(function () {
      var attributes = el("datalist", { id: "attributes" }, state.tree.attributes.map(function (name) {
        return el("option", { value: name });
      }));
      document.body.appendChild(attributes);
      schedule();
    });
  });
})(window, document);
