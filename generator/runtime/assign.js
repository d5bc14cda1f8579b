/* sitegen visitor runtime: deterministic assignment and segment conditions.
 * Same algorithms as generator/personalize/hashing.py and conditions.py; both are tested
 * against tests/vectors/personalization.json. Readable ES2017, no dependencies; minified at
 * build time. */
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

  function hashUnit(seed, value, version) {
    if (version === 2) return (fnv32a(String(fnv32a(seed + value))) % 10000) / 10000;
    if (version === 1) return (fnv32a(value + seed) % 1000) / 1000;
    return null;
  }

  function bucketRanges(armCount, coverage, weights) {
    coverage = Math.min(1, Math.max(0, coverage));
    var sum = (weights || []).reduce(function (a, b) { return a + b; }, 0);
    if (!weights || weights.length !== armCount || sum < 0.99 || sum > 1.01) {
      weights = [];
      for (var i = 0; i < armCount; i++) weights.push(1 / armCount);
    }
    var cumulative = 0;
    return weights.map(function (weight) {
      var start = cumulative;
      cumulative += weight;
      return [start, start + coverage * weight];
    });
  }

  function chooseArm(unit, ranges) {
    for (var i = 0; i < ranges.length; i++) {
      if (unit >= ranges[i][0] && unit < ranges[i][1]) return i;
    }
    return -1;
  }

  function inNamespace(visitor, namespace) {
    var unit = hashUnit("__" + namespace[0], visitor, 1);
    return unit !== null && unit >= namespace[1] && unit < namespace[2];
  }

  function assign(visitor, experiment) {
    if (experiment.namespace && !inNamespace(visitor, experiment.namespace)) return -1;
    var unit = hashUnit(experiment.seed || experiment.key, visitor,
      experiment.hashVersion || 2);
    if (unit === null) return -1;
    return chooseArm(unit, bucketRanges(experiment.arms, experiment.coverage === undefined
      ? 1 : experiment.coverage, experiment.weights));
  }

  // Conditions: GrowthBook's evalCondition semantics.
  function isOperatorObject(value) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return false;
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
        return undefined;
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

  function comparable(actual, expected) {
    var a = typeof actual;
    return a === typeof expected && (a === "number" || a === "string");
  }

  function isIn(actual, expected) {
    if (actual === undefined) return false;
    if (Array.isArray(actual)) {
      return actual.some(function (item) { return expected.indexOf(item) >= 0; });
    }
    return expected.indexOf(actual) >= 0;
  }

  function matchesRegex(actual, pattern) {
    if (typeof actual !== "string") return false;
    try {
      return new RegExp(pattern).test(actual);
    } catch (error) {
      return false;
    }
  }

  function present(value) {
    return value !== null && value !== undefined;
  }

  function evalOperator(operator, actual, expected) {
    switch (operator) {
      case "$eq": return actual === expected;
      case "$ne": return actual !== expected;
      case "$lt": return comparable(actual, expected) && actual < expected;
      case "$lte": return comparable(actual, expected) && actual <= expected;
      case "$gt": return comparable(actual, expected) && actual > expected;
      case "$gte": return comparable(actual, expected) && actual >= expected;
      case "$regex": return matchesRegex(actual, expected);
      case "$in": return Array.isArray(expected) && isIn(actual, expected);
      case "$nin": return Array.isArray(expected) && !isIn(actual, expected);
      case "$exists": return expected ? present(actual) : !present(actual);
      case "$type": return typeName(actual) === expected;
      case "$size": return Array.isArray(actual) && evalValue(expected, actual.length);
      case "$elemMatch":
        if (!Array.isArray(actual)) return false;
        return actual.some(function (item) {
          return isOperatorObject(expected) ? evalValue(expected, item)
            : item !== null && typeof item === "object" && evalCondition(item, expected);
        });
      case "$all":
        if (!Array.isArray(actual)) return false;
        return expected.every(function (wanted) {
          return actual.some(function (item) { return evalValue(wanted, item); });
        });
      case "$not": return !evalValue(expected, actual);
      default: return false;
    }
  }

  function evalValue(expected, actual) {
    if (typeof expected === "string") return actual + "" === expected;
    if (typeof expected === "boolean") return actual !== null && !!actual === expected;
    if (typeof expected === "number") return actual * 1 === expected;
    if (expected === null) return actual === null;
    if (isOperatorObject(expected)) {
      return Object.keys(expected).every(function (operator) {
        return evalOperator(operator, actual, expected[operator]);
      });
    }
    return actual !== undefined && JSON.stringify(actual) === JSON.stringify(expected);
  }

  function evalCondition(attributes, condition) {
    return Object.keys(condition).every(function (key) {
      var value = condition[key];
      if (key === "$or") return !value.length || value.some(function (c) {
        return evalCondition(attributes, c);
      });
      if (key === "$nor") return !value.length || !value.some(function (c) {
        return evalCondition(attributes, c);
      });
      if (key === "$and") return value.every(function (c) {
        return evalCondition(attributes, c);
      });
      if (key === "$not") return !evalCondition(attributes, value);
      return evalValue(value, getPath(attributes, key));
    });
  }

  root.sitegen = Object.assign(root.sitegen || {}, {
    fnv32a: fnv32a,
    hashUnit: hashUnit,
    bucketRanges: bucketRanges,
    chooseArm: chooseArm,
    inNamespace: inNamespace,
    assign: assign,
    evalCondition: evalCondition
  });
})(typeof window !== "undefined" ? window : this);
