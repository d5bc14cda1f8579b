/* sitegen visitor runtime: deterministic assignment and segment conditions, as GrowthBook's
 * SDK functions under their names (window.sitegen.hash, getBucketRanges, chooseVariation,
 * getEqualWeights, inNamespace, evalCondition, getQueryStringOverride,
 * paddedVersionString; growthbook.js adds run for test pages). The Python side is
 * generator/personalize/growthbook.py; both pass GrowthBook's published vectors
 * (tests/vectors/growthbook/). ES5, no dependencies; minified at build time. */
(function (root) {
  "use strict";

  // 32-bit FNV-1a over UTF-16 code units (charCodeAt), as GrowthBook's SDKs.
  function fnv32a(text) {
    var value = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      value ^= text.charCodeAt(i);
      value = Math.imul(value, 0x01000193) >>> 0;
    }
    return value >>> 0;
  }

  function hash(seed, value, version) {
    if (version === 2) return (fnv32a(String(fnv32a(seed + value))) % 10000) / 10000;
    if (version === 1) return (fnv32a(value + seed) % 1000) / 1000;
    return null;
  }

  function getEqualWeights(count) {
    var weights = [];
    for (var i = 0; i < count; i++) weights.push(1 / count);
    return weights;
  }

  function getBucketRanges(armCount, coverage, weights) {
    coverage = Math.min(1, Math.max(0, coverage === undefined ? 1 : coverage));
    var sum = (weights || []).reduce(function (a, b) { return a + b; }, 0);
    if (!weights || weights.length !== armCount || sum < 0.99 || sum > 1.01) {
      weights = getEqualWeights(armCount);
    }
    var cumulative = 0;
    return weights.map(function (weight) {
      var start = cumulative;
      cumulative += weight;
      return [start, start + coverage * weight];
    });
  }

  function chooseVariation(unit, ranges) {
    for (var i = 0; i < ranges.length; i++) {
      if (unit >= ranges[i][0] && unit < ranges[i][1]) return i;
    }
    return -1;
  }

  function inNamespace(visitor, namespace) {
    var unit = hash("__" + namespace[0], visitor, 1);
    return unit !== null && unit >= namespace[1] && unit < namespace[2];
  }

  // sitegen's experiments: GrowthBook's run for a visitor id, without the parts sitegen
  // decides elsewhere (forcing by ?sg= or the query string, and pages by the build).
  function assign(visitor, experiment) {
    if (experiment.namespace && !inNamespace(visitor, experiment.namespace)) return -1;
    var unit = hash(experiment.seed || experiment.key, visitor, experiment.hashVersion || 2);
    if (unit === null) return -1;
    return chooseVariation(unit, getBucketRanges(experiment.arms, experiment.coverage,
      experiment.weights));
  }

  // The arm a URL's query string forces: GrowthBook's ?<experiment key>=<arm index>.
  function getQueryStringOverride(key, url, count) {
    var search = (url || "").split("?")[1];
    if (!search) return null;
    var found = search.replace(/#.*/, "").split("&").map(function (pair) {
      return pair.split("=", 2);
    }).filter(function (pair) { return pair[0] === key; }).map(function (pair) {
      return parseInt(pair[1]);
    });
    return found.length && found[0] >= 0 && found[0] < count ? found[0] : null;
  }

  // Conditions: GrowthBook's evalCondition semantics (a missing attribute is null; the
  // comparisons are JavaScript's own, coercions included).
  function isOperatorObject(value) {
    var keys = Object.keys(value);
    return keys.length > 0 && keys.every(function (key) { return key.charAt(0) === "$"; });
  }

  function getPath(attributes, path) {
    var current = attributes;
    var parts = path.split(".");
    for (var i = 0; i < parts.length; i++) {
      if (current && typeof current === "object" && parts[i] in current) {
        current = current[parts[i]];
      } else {
        return null;
      }
    }
    return current;
  }

  function typeName(value) {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    var type = typeof value;
    return ["string", "number", "boolean", "object", "undefined"].indexOf(type) >= 0
      ? type : "unknown";
  }

  function fold(value, insensitive) {
    return insensitive && typeof value === "string" ? value.toLowerCase() : value;
  }

  function isIn(actual, expected, insensitive) {
    var wanted = expected.map(function (item) { return fold(item, insensitive); });
    return (Array.isArray(actual) ? actual : [actual]).some(function (item) {
      return wanted.indexOf(fold(item, insensitive)) >= 0;
    });
  }

  function isInAll(actual, expected, groups, insensitive) {
    return Array.isArray(actual) && Array.isArray(expected) && expected.every(function (e) {
      return actual.some(function (item) { return evalValue(e, item, groups, insensitive); });
    });
  }

  function regex(actual, pattern, flags) {
    try {
      return new RegExp(pattern, flags).test(actual);
    } catch (error) {
      return false;
    }
  }

  // GrowthBook's paddedVersionString: versions comparable as strings.
  function version(value) {
    if (typeof value === "number") value = value + "";
    if (!value || typeof value !== "string") value = "0";
    var parts = value.replace(/(^v|\+.*$)/g, "").split(/[-.]/);
    if (parts.length === 3) parts.push("~");
    return parts.map(function (part) {
      return /^[0-9]+$/.test(part) ? part.padStart(5, " ") : part;
    }).join("-");
  }

  function evalOperator(operator, actual, expected, groups) {
    var list = Array.isArray(expected);
    switch (operator) {
      case "$veq": return version(actual) === version(expected);
      case "$vne": return version(actual) !== version(expected);
      case "$vgt": return version(actual) > version(expected);
      case "$vgte": return version(actual) >= version(expected);
      case "$vlt": return version(actual) < version(expected);
      case "$vlte": return version(actual) <= version(expected);
      case "$eq": return actual === expected;
      case "$ne": return actual !== expected;
      case "$lt": return actual < expected;
      case "$lte": return actual <= expected;
      case "$gt": return actual > expected;
      case "$gte": return actual >= expected;
      case "$exists": return expected ? actual != null : actual == null;
      case "$in": return list && isIn(actual, expected);
      case "$ini": return list && isIn(actual, expected, true);
      case "$nin": return list && !isIn(actual, expected);
      case "$nini": return list && !isIn(actual, expected, true);
      case "$inGroup": return isIn(actual, groups[expected] || []);
      case "$notInGroup": return !isIn(actual, groups[expected] || []);
      case "$not": return !evalValue(expected, actual, groups);
      case "$size": return Array.isArray(actual) && evalValue(expected, actual.length, groups);
      case "$elemMatch":
        return Array.isArray(actual) && actual.some(function (item) {
          return item && (isOperatorObject(expected) ? evalValue(expected, item, groups)
            : evalCondition(item, expected, groups));
        });
      case "$all": return isInAll(actual, expected, groups);
      case "$alli": return isInAll(actual, expected, groups, true);
      case "$regex": return regex(actual, expected);
      case "$regexi": return regex(actual, expected, "i");
      case "$type": return typeName(actual) === expected;
      default: return false;
    }
  }

  function evalValue(expected, actual, groups, insensitive) {
    if (typeof expected === "string") {
      return insensitive ? String(actual).toLowerCase() === expected.toLowerCase()
        : actual + "" === expected;
    }
    if (typeof expected === "number") return actual * 1 === expected;
    if (typeof expected === "boolean") return actual !== null && !!actual === expected;
    if (expected === null) return actual === null;
    if (Array.isArray(expected) || !isOperatorObject(expected)) {
      return JSON.stringify(actual) === JSON.stringify(expected);
    }
    return Object.keys(expected).every(function (operator) {
      return evalOperator(operator, actual, expected[operator], groups);
    });
  }

  function evalAny(attributes, conditions, groups) {
    return !conditions.length || conditions.some(function (c) {
      return evalCondition(attributes, c, groups);
    });
  }

  function evalCondition(attributes, condition, groups) {
    groups = groups || {};
    return Object.keys(condition).every(function (key) {
      var value = condition[key];
      if (key === "$or") return evalAny(attributes, value, groups);
      if (key === "$nor") return !evalAny(attributes, value, groups);
      if (key === "$and") return value.every(function (c) {
        return evalCondition(attributes, c, groups);
      });
      if (key === "$not") return !evalCondition(attributes, value, groups);
      return evalValue(value, getPath(attributes, key), groups);
    });
  }

  root.sitegen = Object.assign(root.sitegen || {}, {
    hash: hash,
    getEqualWeights: getEqualWeights,
    getBucketRanges: getBucketRanges,
    chooseVariation: chooseVariation,
    inNamespace: inNamespace,
    evalCondition: evalCondition,
    paddedVersionString: version,
    getQueryStringOverride: getQueryStringOverride,
    assign: assign
  });
})(typeof window !== "undefined" ? window : this);
