/* GrowthBook's runExperiment and URL targeting, as `sitegen.run` and
 * `sitegen.isURLTargeted`, on top of assign.js. Not inlined into pages: sitegen's head
 * runtime decides arms with the same parts (hash, namespaces, bucket ranges, forcing by
 * query string) and the build decides pages; this file is what lets GrowthBook's `run`
 * vectors test those parts together in the browser, as generator/personalize/growthbook.py
 * does in Python. Sticky bucketing and prerequisites are left out (sitegen's cookies are its
 * sticky buckets; prerequisites evaluate other features). ES5. */
(function (root) {
  "use strict";
  var sg = root.sitegen;

  function simplePart(actual, pattern, isPath) {
    try {
      var escaped = pattern.replace(/[*.+?^${}()|[\]\\]/g, "\\$&").replace(/_____/g, ".*");
      if (isPath) escaped = "\\/?" + escaped.replace(/(^\/|\/$)/g, "") + "\\/?";
      return new RegExp("^" + escaped + "$", "i").test(actual);
    } catch (error) {
      return false;
    }
  }

  function simpleTarget(actual, pattern) {
    try {
      var expected = new URL(pattern.replace(/^([^:/?]*)\./i, "https://$1.")
        .replace(/\*/g, "_____"), "https://_____");
      var checks = [[actual.host, expected.host, false],
        [actual.pathname, expected.pathname, true]];
      if (expected.hash) checks.push([actual.hash, expected.hash, false]);
      expected.searchParams.forEach(function (value, name) {
        checks.push([actual.searchParams.get(name) || "", value, false]);
      });
      return checks.every(function (check) {
        return simplePart(check[0], check[1], check[2]);
      });
    } catch (error) {
      return false;
    }
  }

  function urlTarget(url, type, pattern) {
    try {
      var parsed = new URL(url, "https://_");
      if (type === "regex") {
        var regex = new RegExp(pattern.replace(/([^\\])\//g, "$1\\/"));
        return regex.test(parsed.href) || regex.test(parsed.href.slice(parsed.origin.length));
      }
      return type === "simple" && simpleTarget(parsed, pattern);
    } catch (error) {
      return false;
    }
  }

  function isURLTargeted(url, targets) {
    if (!targets.length) return false;
    var hasInclude = false;
    var included = false;
    for (var i = 0; i < targets.length; i++) {
      var match = urlTarget(url, targets[i].type, targets[i].pattern);
      if (targets[i].include === false) {
        if (match) return false;
      } else {
        hasInclude = true;
        if (match) included = true;
      }
    }
    return included || !hasInclude;
  }

  function hashValueOf(attributes, name) {
    return attributes[name || "id"] || "";
  }

  function run(context, experiment) {
    var key = experiment.key;
    var variations = experiment.variations || [];
    var attributes = context.attributes || {};
    var url = context.url || "";

    function result(index, hashUsed, bucket) {
      var inside = index >= 0 && index < variations.length;
      if (!inside) index = 0;
      var meta = (experiment.meta || [])[index] || {};
      var found = {key: meta.key || "" + index, inExperiment: inside, hashUsed: hashUsed,
        variationId: index, value: variations[index],
        hashAttribute: experiment.hashAttribute || "id",
        hashValue: hashValueOf(attributes, experiment.hashAttribute)};
      if (bucket !== undefined) found.bucket = bucket;
      return found;
    }

    if (variations.length < 2 || context.enabled === false) return result(-1, false);
    var overrides = (context.overrides || {})[key];
    if (overrides) experiment = Object.assign({}, experiment, overrides);
    if (experiment.urlPatterns && !isURLTargeted(url, experiment.urlPatterns)) {
      return result(-1, false);
    }
    var forced = sg.getQueryStringOverride(key, url, variations.length);
    if (forced !== null) return result(forced, false);
    var forcedVariations = context.forcedVariations || {};
    if (key in forcedVariations) return result(forcedVariations[key], false);
    if (experiment.status === "draft" || experiment.active === false) return result(-1, false);
    var value = hashValueOf(attributes, experiment.hashAttribute);
    if (!value) return result(-1, false);
    if (experiment.filters) {
      var out = experiment.filters.some(function (filter) {
        var filtered = hashValueOf(attributes, filter.attribute);
        var unit = filtered ? sg.hash(filter.seed, filtered, filter.hashVersion || 2) : null;
        return unit === null || !filter.ranges.some(function (range) {
          return unit >= range[0] && unit < range[1];
        });
      });
      if (out) return result(-1, false);
    } else if (experiment.namespace && !sg.inNamespace(value, experiment.namespace)) {
      return result(-1, false);
    }
    if (experiment.condition &&
        !sg.evalCondition(attributes, experiment.condition, context.savedGroups)) {
      return result(-1, false);
    }
    if (experiment.parentConditions) {
      throw new Error("experiment " + key + ": prerequisites (parentConditions) evaluate " +
        "other features, which sitegen does not have");
    }
    if (experiment.groups && !experiment.groups.some(function (group) {
      return (context.groups || {})[group];
    })) return result(-1, false);
    if (experiment.url) {
      var path = url.replace(/^https?:\/\//, "").replace(/^[^/]*\//, "/");
      var regex = new RegExp(experiment.url);
      if (!url || !(regex.test(url) || regex.test(path))) return result(-1, false);
    }
    var unit = sg.hash(experiment.seed || key, value, experiment.hashVersion || 1);
    if (unit === null) return result(-1, false);
    var assigned = sg.chooseVariation(unit, experiment.ranges ||
      sg.getBucketRanges(variations.length, experiment.coverage, experiment.weights));
    if (assigned < 0) return result(-1, false);
    if ("force" in experiment) {
      return result(experiment.force === undefined ? -1 : experiment.force, false);
    }
    if (context.qaMode || experiment.status === "stopped") return result(-1, false);
    return result(assigned, true, unit);
  }

  sg.run = run;
  sg.isURLTargeted = isURLTargeted;
})(window);
