"""The condition language of segments: MongoDB-style operators with the semantics of
GrowthBook's `evalCondition`.

A condition is a mapping. `$and`, `$or`, `$nor` (lists of conditions) and `$not` (one
condition) combine; any other key is an attribute path (`utm.source`, dots descend into
objects) whose value must match either a plain value (deep equality) or an operator object:
`$eq $ne $lt $lte $gt $gte $regex $in $nin $exists $type $size $elemMatch $all $not`.

`check_condition` validates a condition once, at build time, so an unknown operator is a
configuration error with its file and line rather than a visitor who silently matches
nothing. `evaluate` is the reference implementation; the visitor runtime implements the
same semantics and both are tested against `tests/vectors/personalization.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

COMBINATORS = ("$and", "$or", "$nor", "$not")
OPERATORS = ("$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$regex", "$in", "$nin", "$exists",
             "$type", "$size", "$elemMatch", "$all", "$not")


class ConditionError(ValueError):
    """A condition is malformed; `path` says where inside it."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _is_operator_object(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(key, str) and key.startswith("$") for key in value)


def check_condition(condition: Any, path: tuple[str | int, ...] = ()) -> None:
    """Raise `ConditionError` for anything `evaluate` would not understand."""
    if not isinstance(condition, dict):
        raise ConditionError("expected a mapping of attribute paths to values or operators",
                             path)
    for key, value in condition.items():
        where = (*path, key)
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list):
                raise ConditionError(f"'{key}' expects a list of conditions", where)
            for index, item in enumerate(value):
                check_condition(item, (*where, index))
        elif key == "$not":
            check_condition(value, where)
        elif key.startswith("$"):
            raise ConditionError(f"unknown operator '{key}' at the top of a condition "
                                 f"(expected one of {', '.join(COMBINATORS)}, or an attribute "
                                 "name)", where)
        else:
            _check_value(value, where)


def _check_value(value: Any, path: tuple[str | int, ...]) -> None:
    if not _is_operator_object(value):
        if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
            raise ConditionError("an operator object cannot mix operators and plain keys",
                                 path)
        return
    for operator, expected in value.items():
        where = (*path, operator)
        if operator not in OPERATORS:
            raise ConditionError(f"unknown operator '{operator}' (expected one of "
                                 f"{' '.join(OPERATORS)})", where)
        if operator in ("$in", "$nin", "$all") and not isinstance(expected, list):
            raise ConditionError(f"'{operator}' expects a list", where)
        if operator == "$regex":
            if not isinstance(expected, str):
                raise ConditionError("'$regex' expects a regular expression string", where)
            try:
                re.compile(expected)
            except re.error as error:
                raise ConditionError(f"invalid regular expression: {error}", where) from None
        if operator in ("$not", "$size"):
            _check_value(expected, where)
        if operator == "$elemMatch":
            if _is_operator_object(expected):
                _check_value(expected, where)
            else:
                check_condition(expected, where)
        if operator == "$all":
            for index, item in enumerate(expected):
                _check_value(item, (*where, index))


_MISSING = object()
_JS_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _get_path(attributes: Any, path: str) -> Any:
    current = attributes
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def evaluate(condition: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Does `attributes` satisfy `condition`?"""
    for key, value in condition.items():
        if key == "$or":
            if value and not any(evaluate(item, attributes) for item in value):
                return False
        elif key == "$nor":
            if value and any(evaluate(item, attributes) for item in value):
                return False
        elif key == "$and":
            if not all(evaluate(item, attributes) for item in value):
                return False
        elif key == "$not":
            if evaluate(value, attributes):
                return False
        elif not _matches(value, _get_path(attributes, key)):
            return False
    return True


def _type_name(value: Any) -> str:
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _normal(value: Any) -> Any:
    """JavaScript has one number type: 1.0 and 1 are the same value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    return value


def _canonical(value: Any) -> str:
    """`JSON.stringify` of the value (key order kept, as JavaScript keeps it)."""
    return json.dumps(_normal(value), separators=(",", ":"), ensure_ascii=False)


def _js_string(value: Any) -> str:
    """`value + ""` in JavaScript, for the values attributes hold."""
    if value is _MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        value = _normal(value)
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_number(value: Any) -> float:
    """`value * 1` in JavaScript: NaN where JavaScript gives NaN."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        if _JS_NUMBER.fullmatch(text):
            return float(text)
        return float("nan")
    if isinstance(value, list):
        return _js_number(_js_string(value))  # Number([5]) is Number("5")
    return float("nan")


def _js_truthy(value: Any) -> bool:
    if value is _MISSING or value is None:
        return False
    if isinstance(value, float) and value != value:
        return False
    if isinstance(value, (list, dict)):
        return True
    return bool(value)


def _matches(expected: Any, actual: Any) -> bool:
    """GrowthBook's `evalConditionValue`: plain strings, numbers and booleans compare with
    JavaScript's coercions, other plain values by their JSON, operator objects operator by
    operator."""
    if isinstance(expected, str):
        return _js_string(actual) == expected
    if isinstance(expected, bool):
        return actual is not None and _js_truthy(actual) == expected
    if isinstance(expected, (int, float)):
        return _js_number(actual) == expected
    if expected is None:
        return actual is None
    if _is_operator_object(expected):
        return all(_operator(operator, actual, argument)
                   for operator, argument in expected.items())
    return actual is not _MISSING and _canonical(expected) == _canonical(actual)


def _strict_equal(actual: Any, expected: Any) -> bool:
    """JavaScript's `===`: primitives by value and type; arrays and objects never equal."""
    if actual is _MISSING or isinstance(actual, (list, dict)) \
            or isinstance(expected, (list, dict)):
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return _canonical(actual) == _canonical(expected)


def _comparable(actual: Any, expected: Any) -> bool:
    """JavaScript compares numbers with numbers and strings with strings; across types our
    runtime answers false, and so do we."""
    numbers = (int, float)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False
    return (isinstance(actual, numbers) and isinstance(expected, numbers)) or (
        isinstance(actual, str) and isinstance(expected, str))


def _is_in(actual: Any, expected: list[Any]) -> bool:
    """`$in`: any shared element when the attribute is a list, else membership (`===`)."""
    if actual is _MISSING:
        return False
    if isinstance(actual, list):
        return any(_strict_equal(item, wanted) for item in actual for wanted in expected)
    return any(_strict_equal(actual, wanted) for wanted in expected)


def _operator(operator: str, actual: Any, expected: Any) -> bool:
    handler = _OPERATORS.get(operator)
    return handler(actual, expected) if handler is not None else False


def _regex(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, str):
        return False
    try:
        return re.search(expected, actual) is not None
    except re.error:
        return False


def _elem_match(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, list):
        return False
    if _is_operator_object(expected):
        return any(_matches(expected, item) for item in actual)
    return any(isinstance(item, dict) and evaluate(expected, item) for item in actual)


def _all(actual: Any, expected: Any) -> bool:
    if not isinstance(actual, list):
        return False
    return all(any(_matches(wanted, item) for item in actual) for wanted in expected)


def _present(actual: Any) -> bool:
    return actual is not _MISSING and actual is not None


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": _strict_equal,
    "$ne": lambda a, e: not _strict_equal(a, e),
    "$lt": lambda a, e: _comparable(a, e) and a < e,
    "$lte": lambda a, e: _comparable(a, e) and a <= e,
    "$gt": lambda a, e: _comparable(a, e) and a > e,
    "$gte": lambda a, e: _comparable(a, e) and a >= e,
    "$regex": _regex,
    "$in": lambda a, e: isinstance(e, list) and _is_in(a, e),
    "$nin": lambda a, e: isinstance(e, list) and not _is_in(a, e),
    "$exists": lambda a, e: _present(a) if e else not _present(a),
    "$type": lambda a, e: _type_name(a) == e,
    "$size": lambda a, e: isinstance(a, list) and _matches(e, len(a)),
    "$elemMatch": _elem_match,
    "$all": _all,
    "$not": lambda a, e: not _matches(e, a),
}
