/* sitegen visitor runtime, feature flags: only on sites with flags that look at the visitor,
 * between assign.js (with growthbook.js, GrowthBook's evalFeature) and runtime.js.
 *
 * Each value of such a flag but the first is a segment, {"$feature": [flag, index]}: the
 * visitors for whom the flag has that value (personalize/features.py). runtime.js tests
 * segments with sitegen.evalCondition; this wraps it to evaluate those with evalFeature on
 * the visitor's attributes, plus `id` (the visitor id, which rollouts and experiment rules
 * hash), `site` and `environment`. The rest of the runtime (segment cookie, server routing,
 * variant swap) then works for flags as for any segment. ES5. */
(function (root) {
  "use strict";
  var sg = root.sitegen;
  var plain = sg.evalCondition;

  function visitorId(prefix) {
    var found = ("; " + document.cookie).split("; " + prefix + "id=")[1];
    return found ? decodeURIComponent(found.split(";")[0]) : "";
  }

  sg.evalCondition = function (attributes, condition, groups) {
    var asked = condition && condition.$feature;
    var config = root.sitegenConfig;
    if (!asked || !config || !config.features) return plain(attributes, condition, groups);
    var features = config.features;
    var context = {
      attributes: Object.assign({id: visitorId(config.prefix)}, attributes,
        features.attributes),
      features: features.flags,
      url: root.location.href
    };
    var value = sg.evalFeature(context, asked[0]).value;
    var values = features.values[asked[0]] || [];
    return JSON.stringify(value) === JSON.stringify(values[asked[1]]);
  };
})(window);
