/* GrowthBook's runExperiment, evalFeature and URL targeting, as `sitegen.run`,
 * `sitegen.evalFeature` and `sitegen.isURLTargeted`, on top of assign.js. Not inlined into
 * pages: sitegen's head runtime decides arms with the same parts (hash, namespaces, bucket
 * ranges, forcing by query string) and the build decides pages; this file is what lets
 * GrowthBook's `run` and `feature` vectors test those parts together in the browser, as
 * generator/personalize/growthbook.py does in Python. Sticky bucketing and contextual
 * bandits are left out (sitegen's cookies are its sticky buckets; a bandit's model is
 * evaluated by a server). ES5. */
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

  function run(context, experiment, featureId) {
    var key = experiment.key;
    var variations = experiment.variations || [];
    var attributes = context.attributes || {};
    var url = context.url || "";

    function result(index, hashUsed, bucket) {
      var inside = index >= 0 && index < variations.length;
      if (!inside) index = 0;
      var meta = (experiment.meta || [])[index] || {};
      var found = {featureId: featureId === undefined ? null : featureId,
        key: meta.key || "" + index, inExperiment: inside, hashUsed: hashUsed,
        variationId: index, value: variations[index],
        hashAttribute: experiment.hashAttribute || "id",
        hashValue: hashValueOf(attributes, experiment.hashAttribute),
        stickyBucketUsed: false};
      if (meta.name) found.name = meta.name;
      if (meta.passthrough) found.passthrough = meta.passthrough;
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
    if (experiment.parentConditions &&
        prerequisites(context, experiment.parentConditions, {})) {
      return result(-1, false);
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

  var RULE_KEYS = ["coverage", "weights", "hashAttribute", "fallbackAttribute",
    "disableStickyBucketing", "bucketVersion", "minBucketVersion", "namespace", "meta",
    "ranges", "name", "phase", "seed", "hashVersion", "filters", "condition"];

  function featureResult(value, source, ruleId, experiment, result) {
    var found = {value: value, on: !!value, off: !value, source: source, ruleId: ruleId || ""};
    if (experiment) found.experiment = experiment;
    if (result) found.experimentResult = result;
    return found;
  }

  // '' when every parent condition holds; 'skip', 'prerequisite' or 'cyclicPrerequisite'.
  function prerequisites(context, conditions, stack) {
    for (var i = 0; i < conditions.length; i++) {
      var found = evaluate(context, conditions[i].id, stack);
      if (found.source === "cyclicPrerequisite") return "cyclicPrerequisite";
      if (!sg.evalCondition({value: found.value}, conditions[i].condition || {})) {
        return conditions[i].gate ? "prerequisite" : "skip";
      }
    }
    return "";
  }

  function filteredOut(filters, attributes) {
    return filters.some(function (filter) {
      var value = hashValueOf(attributes, filter.attribute);
      var unit = value ? sg.hash(filter.seed, value, filter.hashVersion || 2) : null;
      return unit === null || !filter.ranges.some(function (range) {
        return unit >= range[0] && unit < range[1];
      });
    });
  }

  function inRollout(attributes, seed, rule) {
    if (rule.range === undefined && rule.coverage === undefined) return true;
    if (rule.range === undefined && rule.coverage === 0) return false;
    var value = hashValueOf(attributes, rule.hashAttribute);
    if (!value) return false;
    var unit = sg.hash(seed, value, rule.hashVersion || 1);
    if (unit === null) return false;
    return rule.range ? unit >= rule.range[0] && unit < rule.range[1] : unit <= rule.coverage;
  }

  function evaluate(context, key, stack) {
    if (stack[key]) return featureResult(null, "cyclicPrerequisite");
    var inner = Object.assign({}, stack);
    inner[key] = true;
    var feature = (context.features || {})[key];
    if (!feature) return featureResult(null, "unknownFeature");
    var attributes = context.attributes || {};
    var rules = feature.rules || [];
    for (var i = 0; i < rules.length; i++) {
      var rule = rules[i];
      var gate = prerequisites(context, rule.parentConditions || [], inner);
      if (gate === "cyclicPrerequisite" || gate === "prerequisite") {
        return featureResult(null, gate);
      }
      if (gate === "skip") continue;
      if (rule.filters && filteredOut(rule.filters, attributes)) continue;
      if ("force" in rule) {
        if (rule.condition &&
            !sg.evalCondition(attributes, rule.condition, context.savedGroups)) continue;
        if (!inRollout(attributes, rule.seed || key, rule)) continue;
        return featureResult(rule.force, "force", rule.id);
      }
      if (!rule.variations) continue;
      var experiment = {variations: rule.variations, key: rule.key || key};
      RULE_KEYS.forEach(function (name) {
        if (name in rule) experiment[name] = rule[name];
      });
      var result = run(context, experiment, key);
      if (result.inExperiment && !result.passthrough) {
        return featureResult(result.value, "experiment", rule.id, experiment, result);
      }
    }
    return featureResult(feature.defaultValue === undefined ? null : feature.defaultValue,
      "defaultValue");
  }

  sg.evalFeature = function (context, key) { return evaluate(context, key, {}); };
  sg.run = run;
  sg.isURLTargeted = isURLTargeted;
})(window);
