/* sitegen visitor runtime, feature flags: only on sites with flags that look at the visitor,
 * between assign.js (with growthbook.js, GrowthBook's evalFeature) and runtime.js.
 *
 * Each value of such a flag but the first is a segment, {"$feature": [flag, index]}: the
 * visitors for whom the flag has that value (personalize/features.py). runtime.js tests
 * segments with sitegen.evalCondition; this wraps it to evaluate those with evalFeature on
 * the visitor's attributes, plus `id` (the visitor id, which rollouts and experiment rules
 * hash), `site` and `environment`. The rest of the runtime (segment cookie, server routing,
 * variant swap) then works for flags as for any segment.
 *
 * An experiment rule marked `sitegenExperiment` is run by that sitegen experiment: the
 * visitor's arm is the one runtime.js keeps (QA override, then the arm cookie, then the
 * assignment), and the rule gives that arm's variation. runtime.js enrols a visitor in such
 * an experiment (sitegen.assign, wrapped here) only when the flag's evaluation reaches the
 * rule, as GrowthBook counts an exposure: one an earlier rule catches is not in it. ES5. */
(function (root) {
  "use strict";
  var sg = root.sitegen;
  var plainCondition = sg.evalCondition;
  var plainAssign = sg.assign;
  var current = null; // the attributes of this page view (the first that segments see)

  function cookies() {
    var found = {};
    document.cookie.split(/;\s*/).forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at > 0) found[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1));
    });
    return found;
  }

  function experimentOf(config, key) {
    for (var i = 0; i < config.experiments.length; i++) {
      if (config.experiments[i].key === key) return config.experiments[i];
    }
    return null;
  }

  // The arm index runtime.js will keep for experiment `key` (-1: not in it), as it decides.
  function armOf(config, key, visitor, jar) {
    var experiment = experimentOf(config, key);
    if (!experiment) return -1;
    var names = experiment.names;
    var saved = (jar[config.prefix + "x_" + key] || "").split(".");
    var arm = saved.length === 2 && saved[0] === String(experiment.bucketVersion)
      ? saved[1] : null;
    var force = {};
    try {
      force = JSON.parse(jar[config.prefix + "visit"]).force || {};
    } catch (error) { /* no visit yet */ }
    if (force[key] !== undefined && (force[key] === "-" || names.indexOf(force[key]) >= 0)) {
      arm = force[key];
    }
    if (arm === null || (arm !== "-" && names.indexOf(arm) < 0)) {
      return plainAssign(visitor, experiment);
    }
    return names.indexOf(arm);
  }

  // The features payload with each linked rule given its arm's variation (or dropped).
  function withArms(flags, arms) {
    var out = {};
    Object.keys(flags).forEach(function (id) {
      var rules = [];
      flags[id].rules.forEach(function (rule) {
        var key = rule.sitegenExperiment;
        if (key === undefined) return rules.push(rule);
        var index = arms[key];
        if (index === undefined || index < 0) return;
        var forced = {id: rule.id, force: rule.variations[index]};
        if (rule.condition) forced.condition = rule.condition;
        if (rule.parentConditions) forced.parentConditions = rule.parentConditions;
        rules.push(forced);
      });
      out[id] = {defaultValue: flags[id].defaultValue, rules: rules};
    });
    return out;
  }

  function linkedKeys(flags) {
    var keys = [];
    Object.keys(flags).forEach(function (id) {
      flags[id].rules.forEach(function (rule) {
        if (rule.sitegenExperiment !== undefined) keys.push(rule.sitegenExperiment);
      });
    });
    return keys;
  }

  function context(config, attributes, arms) {
    var features = config.features;
    var visitor = cookies()[config.prefix + "id"] || "";
    return {
      attributes: Object.assign({id: visitor}, attributes, features.attributes),
      features: withArms(features.flags, arms),
      url: root.location.href
    };
  }

  function arms(config) {
    var jar = cookies();
    var visitor = jar[config.prefix + "id"] || "";
    var found = {};
    linkedKeys(config.features.flags).forEach(function (key) {
      found[key] = armOf(config, key, visitor, jar);
    });
    return found;
  }

  sg.evalCondition = function (attributes, condition, groups) {
    var asked = condition && condition.$feature;
    var config = root.sitegenConfig;
    if (!asked || !config || !config.features) {
      return plainCondition(attributes, condition, groups);
    }
    if (!current) current = attributes;
    var value = sg.evalFeature(context(config, attributes, arms(config)), asked[0]).value;
    var values = config.features.values[asked[0]] || [];
    return JSON.stringify(value) === JSON.stringify(values[asked[1]]);
  };

  sg.assign = function (visitor, experiment) {
    var index = plainAssign(visitor, experiment);
    var config = root.sitegenConfig;
    if (index < 0 || !config || !config.features) return index;
    var flags = config.features.flags;
    var linked = false;
    var reached = Object.keys(flags).some(function (id) {
      return flags[id].rules.some(function (rule) {
        if (rule.sitegenExperiment !== experiment.key) return false;
        linked = true;
        var chosen = arms(config);
        chosen[experiment.key] = index;
        return sg.evalFeature(context(config, current || {}, chosen), id).ruleId === rule.id;
      });
    });
    return !linked || reached ? index : -1;
  };
})(window);
