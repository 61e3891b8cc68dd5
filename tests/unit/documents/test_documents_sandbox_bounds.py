"""Arithmetic and text that Python builds in one uninterruptible C call are refused
from their operands' sizes, quickly, with a clear reason (security issue #19, item 2)."""

from __future__ import annotations

import time

import pytest

from server.documents.sandbox import (
    MAX_INT_DIGITS,
    RenderLimitExceeded,
    TemplateRenderError,
    render_source,
)

#: the outside probe, as sent: each step is within the old exponent cap of 64
PROBE = "{% set a = 10**64 %}{% set b = a**64 %}{% set c = b**64 %}{% set d = c**64 %}"

DATA = {"language": "ru", "partner": {"name": "ООО «Ромашка»"}}


def _refused(payload: str) -> TemplateRenderError:
    started = time.monotonic()
    with pytest.raises(TemplateRenderError) as caught:
        render_source(payload, DATA)
    assert time.monotonic() - started < 2, "the refusal must not wait for the computation"
    return caught.value


def test_the_probe_is_refused_at_once_with_the_line() -> None:
    error = _refused(PROBE)
    assert isinstance(error, RenderLimitExceeded)
    assert str(error.issue.message) == f"a number longer than {MAX_INT_DIGITS} digits"
    assert error.line == 1


@pytest.mark.parametrize(
    "payload",
    [
        # big integers through each operator, each exponent within the old cap of 64
        "{% set a = 10**64 %}{{ a * a * a * a * a * a * a * a * a * a * a * a * a * a * a * a }}",
        "{% set a = 7**60 %}{% set b = a**25 %}",
        "{% set a = (10**64)**15 * 10**39 %}{% set b = " + " + ".join(["a"] * 100) + " %}",
        "{% set a = (10**64)**15 * 10**39 %}{% set b = a - " + " - ".join(["(-a)"] * 100) + " %}",
        "{% set a = (10**64)**15 * 10**39 %}{{ a * 9 * 9 * 9 }}",
        # rounding an integer to a huge negative precision makes 10 ** n
        "{{ 5|round(-10**7) }}",
        # filters whose own Python loops the template's deadline does not watch
        "{{ 'x'|slice(10**7)|list|length }}",
        "{{ [1]|batch(10**9, 'x')|list|length }}",
        "{{ [1]|batch(fill_with='x', linecount=10**9)|list|length }}",
        # text of a list holding a big list many times: one str() call in C
        "{% set a = ['x'] * 1000000 %}{% set b = [a] * 1000 %}{{ b }}",
        "{% set a = ['x'] * 1000000 %}{% set b = [a] * 1000 %}{{ b|string|length }}",
        "{% set a = ['x'] * 1000000 %}{% set b = [a] * 1000 %}{{ b|join }}",
        "{% set a = ['x'] * 1000000 %}{% set b = [a] * 1000 %}{{ 'x' ~ b }}",
        "{% set a = ['x'] * 1000000 %}{% set b = [a] * 1000 %}{{ b|upper }}",
        "{% set a = ['x'] * 1000000 %}{% set d = {'k': [a] * 1000} %}{{ d.items() }}",
        "{% set a = 'x' * 999999 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
        "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c|length }}{{ c }}",
        # macro, call and block outputs are values too
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% else %}{{ 'x' * 999999 }}"
        "{% endif %}{% endmacro %}{{ f(12)|length }}",
        "{% set s %}{% for i in range(3) %}{{ 'x' * 999999 }}{% endfor %}{% endset %}"
        "{{ s|length }}",
        "{% filter upper %}{% for i in range(3) %}{{ 'x' * 999999 }}{% endfor %}{% endfilter %}",
        # sum with a list start copies the growing list at every step
        "{{ ([['x'] * 100000] * 1000)|sum(start=[])|length }}",
        # int methods that allocate what the template asks for
        "{{ (1).to_bytes(10**8, 'big')|length }}",
    ],
)
def test_the_class_is_refused_quickly(payload: str) -> None:
    error = _refused(payload)
    assert error.line == 1
    assert str(error.issue.message)


def test_ordinary_arithmetic_and_text_still_work() -> None:
    source = (
        "{{ 3 * 7 }} {{ 2 ** 10 }} {{ 10 ** 30 // 10 ** 28 }} {{ 7 - 10 }} {{ 1 / 4 }} "
        "{{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 12.345|round(2) }} {{ [1, 2, 3]|sum }} "
        "{{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ range(7)|slice(3)|list|length }} "
        "{{ range(5)|batch(2)|list|length }} {{ partner.name|upper }}"
    )
    assert render_source(source, DATA) == (
        "21 1024 100 -3 0.25 0.5 1.4142135623730951 12.35 6 ababab [1, 2, 3] 3 3 ООО «РОМАШКА»"
    )


def test_recursion_and_huge_numbers_in_text_end_quickly_with_a_reason() -> None:
    # a macro that calls itself: Python's recursion limit, reported in plain words
    error = _refused("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
    assert str(error.issue.message) == "the template recurses too deeply"
    # a 100 000-digit string is not parsed (Python's own 4300-digit limit): |int gives 0
    started = time.monotonic()
    assert render_source("{{ ('9' * 100000)|int }}", DATA) == "0"
    assert time.monotonic() - started < 2
