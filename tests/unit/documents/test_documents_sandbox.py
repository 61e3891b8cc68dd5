"""The template sandbox refuses escapes, oversized output, runaway loops and unknown
variables with a clear error and the template line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel

from server.documents.sandbox import (
    RenderLimitExceeded,
    TemplateRenderError,
    TemplateValidationError,
    render_source,
    validate_source,
)

DATA = {"language": "ru", "partner": {"name": "ООО «Ромашка» <b>"}, "rules": [{"text": "7 %"}]}
ALLOWED = ["language", "partner.name", "rules"]
TRANSLATIONS = Path(__file__).parents[3] / "server" / "translations"


@pytest.fixture
def app_ru() -> Iterator[None]:
    """A request in Russian, with the product's catalogue (no database)."""
    app = Flask(__name__)
    Babel(app, default_locale="ru", default_translation_directories=str(TRANSLATIONS))
    with app.test_request_context():
        yield


SSTI = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ partner.__class__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ partner|attr('__class__')|attr('__mro__') }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ namespace.__init__ }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__}'.format(partner) }}",
    "{{ '%s' % partner }}",
    "{% include '/etc/passwd' %}",
    "{{ config }}",
    "{{ request.environ }}",
]


@pytest.mark.parametrize("payload", SSTI)
def test_template_injection_is_refused_when_rendering(payload: str) -> None:
    with pytest.raises((TemplateValidationError, TemplateRenderError)) as caught:
        render_source(payload, DATA)
    assert str(caught.value)


@pytest.mark.parametrize("payload", SSTI)
def test_saving_refuses_injection_or_the_sandbox_does(payload: str) -> None:
    try:
        validate_source(payload, ALLOWED)
    except TemplateValidationError as error:
        assert error.issues[0].line == 1
        return
    with pytest.raises(TemplateRenderError, match=r"not allowed|not available"):
        render_source(payload, DATA)


@pytest.mark.usefixtures("app_ru")
def test_refusals_read_in_the_users_language() -> None:
    # Regression: Jinja's and the sandbox's English reached Russian screens
    # ("attribute '__subclasses__' is not allowed", "unknown variable: 'x' is undefined")
    with pytest.raises(TemplateValidationError) as caught:
        validate_source("{{ partner.__class__ }}\n{% include 'x' %}", ALLOWED)
    shown = [str(issue) for issue in caught.value.issues]
    assert "строка 1: обращение к атрибуту «__class__» запрещено" in shown
    assert "строка 2: шаблон не может подключать или импортировать другие шаблоны" in shown
    with pytest.raises(TemplateRenderError) as refused:
        render_source("{{ ''.__class__ }}", {})
    assert str(refused.value) == "строка 1: обращение к атрибуту «__class__» запрещено"
    with pytest.raises(TemplateRenderError) as unknown:
        render_source("\n{{ partner.nickname }}", {"partner": {}})
    assert str(unknown.value) == "строка 2: неизвестное поле «nickname»"


@pytest.mark.parametrize(
    "payload",
    [
        "{{ 'x' * 10**10 }}",
        "{{ ['x'] * 10**9 }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}xxxxxxxxxxxxxxxx"
        "{% endfor %}{% endfor %}",
        "{% set s = 'x' * 999999 %}{{ s ~ s }}",
        "{% set s = 'x' * 999999 %}{{ s + s }}",
        "{{ ('x' * 100000)|replace('x', 'y' * 100000) }}",
        "{{ range(100000)|map('string')|join('x' * 100000) }}",
        "{{ 2 ** 100000000 }}",
    ],
)
def test_gigabytes_are_refused_quickly(payload: str) -> None:
    started = time.monotonic()
    with pytest.raises(RenderLimitExceeded, match=r"longer than|exponent"):
        render_source(payload, DATA)
    assert time.monotonic() - started < 2


def test_a_loop_that_outputs_nothing_is_stopped_by_the_time_budget() -> None:
    payload = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(RenderLimitExceeded, match=r"took longer than 0\.2 s"):
        render_source(payload, DATA, seconds=0.2)
    assert time.monotonic() - started < 1.5


def test_unknown_variables_and_syntax_errors_carry_their_lines() -> None:
    with pytest.raises(TemplateValidationError) as caught:
        validate_source("<p>{{ partner.name }}</p>\n{{ partner.nickname }}\n{{ foo }}", ALLOWED)
    assert [(i.line, i.message) for i in caught.value.issues] == [
        (2, "unknown variable 'partner.nickname'"),
        (3, "unknown variable 'foo'"),
    ]
    with pytest.raises(TemplateValidationError) as caught:
        validate_source("ok\n\n{% if partner.name %}unclosed", ALLOWED)
    assert caught.value.issues[0].line == 3


def test_loop_variables_and_string_methods_are_fine() -> None:
    source = (
        "{% for rule in rules %}{{ loop.index }}. {{ rule.text }}{% endfor %}"
        " {{ partner.name.upper() }}"
    )
    validate_source(source, ALLOWED)
    assert render_source(source, DATA) == "1. 7 % ООО «РОМАШКА» &lt;B&gt;"


def test_data_is_escaped_and_money_and_dates_follow_the_document_language() -> None:
    source = "{{ partner.name }} {{ amount|money }} {{ day|date }}"
    data = {**DATA, "amount": "1234.5", "day": "2026-01-01"}
    assert render_source(source, data) == (
        "ООО «Ромашка» &lt;b&gt; 1\xa0234,50\xa0₽ 1 января 2026\u202fг."
    )
    assert render_source(source, {**data, "language": "en"}) == (
        "ООО «Ромашка» &lt;b&gt; 1,234.50\xa0₽ January 1, 2026"
    )
