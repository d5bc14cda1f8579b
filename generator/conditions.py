"""The condition language of segments: MongoDB-style operators with the semantics of
GrowthBook's `evalCondition`.

A condition is a mapping. `$and`, `$or`, `$nor` (lists of conditions) and `$not` (one
condition) combine; any other key is an attribute path (`utm.source`, dots descend into
objects; a missing attribute is `null`) whose value must match either a plain value or an
operator object: `$eq $ne $lt $lte $gt $gte $regex $regexi $in $ini $nin $nini $all $alli
$exists $type $size $elemMatch $not $veq $vne $vgt $vgte $vlt $vlte $inGroup $notInGroup`.
Comparisons coerce as JavaScript does (`"10" > 9`), as GrowthBook's SDKs do; this module
reproduces JavaScript's rules for the values JSON can hold.

`check_condition` validates a condition once, at build time, so an unknown operator is a
configuration error with its file and line rather than a visitor who silently matches
nothing. `evaluate` is the reference implementation; the visitor runtime implements the
same semantics, and both are tested against GrowthBook's published vectors
(`tests/vectors/growthbook/cases.json`) and `tests/vectors/personalization.json`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

COMBINATORS = ("$and", "$or", "$nor", "$not")
OPERATORS = (
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$regex",
    "$regexi",
    "$in",
    "$ini",
    "$nin",
    "$nini",
    "$all",
    "$alli",
    "$exists",
    "$type",
    "$size",
    "$elemMatch",
    "$not",
    "$veq",
    "$vne",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
    "$inGroup",
    "$notInGroup",
)


class ConditionError(ValueError):
    """A condition is malformed; `path` says where inside it."""

    def __init__(self, message: str, path: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.path = path


def _is_operator_object(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(key, str) and key.startswith("$") for key in value)
    )


def check_condition(condition: Any, path: tuple[str | int, ...] = ()) -> None:
    """Raise `ConditionError` for anything `evaluate` would not understand."""
    if not isinstance(condition, dict):
        raise ConditionError("expected a mapping of attribute paths to values or operators", path)
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
            raise ConditionError(
                f"unknown operator '{key}' at the top of a condition "
                f"(expected one of {', '.join(COMBINATORS)}, or an attribute "
                "name)",
                where,
            )
        else:
            _check_value(value, where)


def _check_value(value: Any, path: tuple[str | int, ...]) -> None:
    if not _is_operator_object(value):
        if isinstance(value, dict) and any(str(k).startswith("$") for k in value):
            raise ConditionError("an operator object cannot mix operators and plain keys", path)
        return
    for operator, expected in value.items():
        _check_operator(operator, expected, (*path, operator))


def _check_operator(operator: str, expected: Any, where: tuple[str | int, ...]) -> None:
    """One operator and its operand: known, supported, of the right type, and the nested
    conditions it holds."""
    if operator not in OPERATORS:
        raise ConditionError(
            f"unknown operator '{operator}' (expected one of {' '.join(OPERATORS)})", where
        )
    if operator in ("$inGroup", "$notInGroup"):
        raise ConditionError(
            f"'{operator}' needs GrowthBook's saved groups, which sitegen "
            "does not have: list the values with $in instead",
            where,
        )
    if operator in ("$in", "$ini", "$nin", "$nini", "$all", "$alli") and not isinstance(
        expected, list
    ):
        raise ConditionError(f"'{operator}' expects a list", where)
    if operator in ("$regex", "$regexi"):
        _check_regex(operator, expected, where)
    elif operator in ("$not", "$size"):
        _check_value(expected, where)
    elif operator == "$elemMatch":
        if _is_operator_object(expected):
            _check_value(expected, where)
        else:
            check_condition(expected, where)
    elif operator in ("$all", "$alli"):
        for index, item in enumerate(expected):
            _check_value(item, (*where, index))


def _check_regex(operator: str, expected: Any, where: tuple[str | int, ...]) -> None:
    if not isinstance(expected, str):
        raise ConditionError(f"'{operator}' expects a regular expression string", where)
    try:
        re.compile(_python_regex(expected))
    except re.error as error:
        raise ConditionError(f"invalid regular expression: {error}", where) from None


_JS_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity")
_JS_RADIX = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_JS_SPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
Saved = dict[str, list[Any]]


def _get_path(attributes: Any, path: str) -> Any:
    """The value at a dotted path; None (JavaScript's null) when it is missing."""
    current = attributes
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def evaluate(
    condition: dict[str, Any], attributes: dict[str, Any], saved_groups: Saved | None = None
) -> bool:
    """Does `attributes` satisfy `condition`? (GrowthBook's `evalCondition`.)"""
    groups = saved_groups or {}
    for key, value in condition.items():
        if key == "$or":
            if not _any(attributes, value, groups):
                return False
        elif key == "$nor":
            if _any(attributes, value, groups):
                return False
        elif key == "$and":
            if not all(evaluate(item, attributes, groups) for item in value):
                return False
        elif key == "$not":
            if evaluate(value, attributes, groups):
                return False
        elif not _matches(value, _get_path(attributes, key), groups):
            return False
    return True


def _any(attributes: Any, conditions: list[Any], groups: Saved) -> bool:
    """`$or`: true for an empty list (and so `$nor` of an empty list is false)."""
    return not conditions or any(evaluate(item, attributes, groups) for item in conditions)


def _type_name(value: Any) -> str:
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


def js_string(value: Any) -> str:
    """`String(value)` in JavaScript, for the values JSON can hold."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        value = _normal(value)
        if isinstance(value, float):
            text = repr(value)
            return {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}.get(text, text)
        return str(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_number(value: Any) -> float:
    """`Number(value)` in JavaScript (`value * 1`), NaN where JavaScript gives NaN."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, (list, dict)):
        return _js_number(js_string(value))  # Number([5]) is Number("5")
    text = str(value).strip(_JS_SPACE)
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text.replace("Infinity", "inf"))
    if _JS_RADIX.fullmatch(text):
        return float(int(text, 0))
    return float("nan")


def js_truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and value != value:
        return False
    if isinstance(value, (list, dict)):
        return True
    return bool(value)


def _js_less(left: Any, right: Any, or_equal: bool = False) -> bool:
    """JavaScript's `left < right` (or `<=`): two strings compare by UTF-16 code units,
    anything else as numbers, false when either is NaN. Arrays and objects first become
    strings, as JavaScript's ToPrimitive makes them."""

    def primitive(value: Any) -> Any:
        return js_string(value) if isinstance(value, (list, dict)) else value

    left, right = primitive(left), primitive(right)
    if isinstance(left, str) and isinstance(right, str):
        a, b = left.encode("utf-16-be"), right.encode("utf-16-be")
        return a <= b if or_equal else a < b
    x, y = _js_number(left), _js_number(right)
    return x <= y if or_equal else x < y


def _strict_equal(actual: Any, expected: Any) -> bool:
    """JavaScript's `===` for values parsed from JSON: primitives by value and type; two
    arrays or objects are never the same object."""
    if isinstance(actual, (list, dict)) or isinstance(expected, (list, dict)):
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    numbers = (int, float)
    if isinstance(actual, numbers) and isinstance(expected, numbers):
        return float(actual) == float(expected)
    return type(actual) is type(expected) and actual == expected


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _is_in(actual: Any, expected: list[Any], insensitive: bool = False) -> bool:
    """`$in`: any shared element when the attribute is a list, else membership (`===`)."""
    if insensitive:
        actual = [_fold(item) for item in actual] if isinstance(actual, list) else _fold(actual)
        expected = [_fold(item) for item in expected]
    if isinstance(actual, list):
        return any(_strict_equal(item, wanted) for item in actual for wanted in expected)
    return any(_strict_equal(actual, wanted) for wanted in expected)


def _matches(expected: Any, actual: Any, groups: Saved, insensitive: bool = False) -> bool:
    """GrowthBook's `evalConditionValue`: a plain string, number or boolean compares with
    JavaScript's coercions, other plain values by their JSON, operator objects operator by
    operator."""
    if isinstance(expected, str):
        if insensitive:
            return js_string(actual).lower() == expected.lower()
        return js_string(actual) == expected
    if isinstance(expected, bool):
        return actual is not None and js_truthy(actual) == expected
    if isinstance(expected, (int, float)):
        return _js_number(actual) == expected
    if expected is None:
        return actual is None
    if isinstance(expected, list) or not _is_operator_object(expected):
        return _canonical(actual) == _canonical(expected)
    return all(
        _operator(operator, actual, argument, groups) for operator, argument in expected.items()
    )


def padded_version(value: Any) -> str:
    """GrowthBook's `paddedVersionString`: a version comparable as a string ("1.10.0" after
    "1.9.0", a release after its pre-releases)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = js_string(value)
    if not value or not isinstance(value, str):
        value = "0"
    parts = re.split(r"[-.]", re.sub(r"^v|\+.*$", "", value))
    if len(parts) == 3:
        parts.append("~")
    return "-".join(part.rjust(5) if re.fullmatch(r"[0-9]+", part) else part for part in parts)


def _python_regex(pattern: str) -> str:
    """A JavaScript pattern as Python's re reads it (named groups differ)."""
    return re.sub(r"\(\?<(?![=!])", "(?P<", pattern)


def _regex(actual: Any, expected: Any, insensitive: bool = False) -> bool:
    try:
        found = re.search(
            _python_regex(expected), js_string(actual), re.IGNORECASE if insensitive else 0
        )
    except (re.error, TypeError):
        return False
    return found is not None


def _elem_match(actual: Any, expected: Any, groups: Saved) -> bool:
    if not isinstance(actual, list):
        return False
    if _is_operator_object(expected):
        return any(js_truthy(item) and _matches(expected, item, groups) for item in actual)
    return any(
        js_truthy(item) and isinstance(item, dict) and evaluate(expected, item, groups)
        for item in actual
    )


def _all(actual: Any, expected: Any, groups: Saved, insensitive: bool = False) -> bool:
    if not isinstance(expected, list) or not isinstance(actual, list):
        return False
    return all(
        any(_matches(wanted, item, groups, insensitive) for item in actual) for wanted in expected
    )


def _version(compare: Callable[[str, str], bool]) -> Callable[[Any, Any, Saved], bool]:
    return lambda a, e, g: compare(padded_version(a), padded_version(e))


def _operator(operator: str, actual: Any, expected: Any, groups: Saved) -> bool:
    handler = _OPERATORS.get(operator)
    return handler(actual, expected, groups) if handler is not None else False


_OPERATORS: dict[str, Callable[[Any, Any, Saved], bool]] = {
    "$eq": lambda a, e, g: _strict_equal(a, e),
    "$ne": lambda a, e, g: not _strict_equal(a, e),
    "$lt": lambda a, e, g: _js_less(a, e),
    "$lte": lambda a, e, g: _js_less(a, e, or_equal=True),
    "$gt": lambda a, e, g: _js_less(e, a),
    "$gte": lambda a, e, g: _js_less(e, a, or_equal=True),
    "$regex": lambda a, e, g: _regex(a, e),
    "$regexi": lambda a, e, g: _regex(a, e, insensitive=True),
    "$in": lambda a, e, g: isinstance(e, list) and _is_in(a, e),
    "$ini": lambda a, e, g: isinstance(e, list) and _is_in(a, e, insensitive=True),
    "$nin": lambda a, e, g: isinstance(e, list) and not _is_in(a, e),
    "$nini": lambda a, e, g: isinstance(e, list) and not _is_in(a, e, insensitive=True),
    "$inGroup": lambda a, e, g: _is_in(a, g.get(e) or []),
    "$notInGroup": lambda a, e, g: not _is_in(a, g.get(e) or []),
    "$exists": lambda a, e, g: (a is not None) if js_truthy(e) else a is None,
    "$type": lambda a, e, g: _type_name(a) == e,
    "$size": lambda a, e, g: isinstance(a, list) and _matches(e, len(a), g),
    "$elemMatch": _elem_match,
    "$all": lambda a, e, g: _all(a, e, g),
    "$alli": lambda a, e, g: _all(a, e, g, insensitive=True),
    "$not": lambda a, e, g: not _matches(e, a, g),
    "$veq": _version(lambda a, e: a == e),
    "$vne": _version(lambda a, e: a != e),
    "$vgt": _version(lambda a, e: a > e),
    "$vgte": _version(lambda a, e: a >= e),
    "$vlt": _version(lambda a, e: a < e),
    "$vlte": _version(lambda a, e: a <= e),
}
