"""Interpolation of whole documents: values only, warnings once with file:line, errors with the path."""

from __future__ import annotations

import pytest

from compose.errors import InterpolationError
from compose.interpolation import Interpolator
from compose.yamlfile import load_yaml


def test_values_are_interpolated_keys_are_not() -> None:
    doc, sources = load_yaml("services:\n  ${SVC}:\n    image: ${IMG:-busybox}:$TAG\n", "c.yaml")
    out = Interpolator({"TAG": "1", "SVC": "x"}).interpolate(doc, sources)
    assert out == {"services": {"${SVC}": {"image": "busybox:1"}}}


def test_unset_variable_warns_once_with_file_and_line() -> None:
    warnings: list[str] = []
    doc, sources = load_yaml("a: $NOPE\nb: ${NOPE}\nc: $$NOPE\n", "c.yaml")
    out = Interpolator({}, warn=warnings.append).interpolate(doc, sources)
    assert out == {"a": "", "b": "", "c": "$NOPE"}
    assert warnings == ['The "NOPE" variable is not set. Defaulting to a blank string. (c.yaml:1)']


def test_required_variable_error_names_path_and_location() -> None:
    doc, sources = load_yaml("services:\n  myservice:\n    environment:\n      TESTVAR: ${FOO:?foo_}\n", "c.yaml")
    with pytest.raises(InterpolationError) as info:
        Interpolator({}).interpolate(doc, sources)
    assert ("error while interpolating myservice.environment.TESTVAR: "
            "required variable FOO is missing a value: foo_") in str(info.value)
    assert info.value.location.line == 4


def test_invalid_template_is_an_error() -> None:
    doc, sources = load_yaml("image: ${foo!}\n", "c.yaml")
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        Interpolator({}).interpolate(doc, sources)


def test_used_variables_are_recorded() -> None:
    doc, sources = load_yaml("a: ${A:-x}\nb: ${B:+${C}}\n", "f")
    interp = Interpolator({"B": "1"})
    interp.interpolate(doc, sources)
    assert interp.used == {"A", "B", "C"}
