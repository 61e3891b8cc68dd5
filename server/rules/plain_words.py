"""Rules in plain words, in Russian and English, for the partner portal and contracts.

The sentence comes from the template file's ``description`` (with its placeholders
filled from the rule's parameters); ``{scope}`` becomes a phrase such as
« онлайн в регионе A» / " online in region A". Numbers and dates are formatted for the
language by Babel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from server.rules.money import currency_sign
from server.rules.program import ENROLMENT_LISTS, Enrolment, Rule, Scope
from server.rules.templates import RuleTemplate, TemplateCatalogue

# Phrases per language; each is a whole phrase with named slots, never glued words.
_PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "channels": " {values}",
        "region": " в регионе {values}",
        "regions": " в регионах {values}",
        "category": " в категории {values}",
        "categories": " в категориях {values}",
        "partner_types": " для {values}",
        "partner": " для партнёра {values}",
        "partners": " для партнёров {values}",
        "tag": " для партнёров с меткой {values}",
        "tags": " для партнёров с одной из меток {values}",
        "between": " с {start} по {end}",
        "from": " с {start}",
        "until": " по {end}",
        "nothing": " (сейчас не применяется ни к одному событию)",
        "and": " и ",
    },
    "en": {
        "channels": " {values}",
        "region": " in region {values}",
        "regions": " in regions {values}",
        "category": " in category {values}",
        "categories": " in categories {values}",
        "partner_types": " for {values}",
        "partner": " for partner {values}",
        "partners": " for partners {values}",
        "tag": " for partners tagged {values}",
        "tags": " for partners tagged with one of {values}",
        "between": " from {start} to {end}",
        "from": " from {start}",
        "until": " until {end}",
        "nothing": " (currently applies to no event)",
        "and": " and ",
    },
}
_LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "online": "онлайн",
        "offline": "офлайн",
        "online_affiliate": "онлайн-партнёров",
        "offline_point": "офлайн-точек",
        "ambassador": "амбассадоров",
        "cofactor": "кофакторов",
    },
    "en": {
        "online": "online",
        "offline": "offline",
        "online_affiliate": "online affiliates",
        "offline_point": "offline points",
        "ambassador": "ambassadors",
        "cofactor": "co-factors",
    },
}


#: an enrolment's phrases (``spec/rules.md`` §6), partner types in the nominative
_ENROLMENT: dict[str, dict[str, str]] = {
    "ru": {
        "everybody": "все партнёры",
        "nobody": "никто",
        "regions": "регионы: {values}",
        "partner_types": "виды: {values}",
        "tags": "метки: {values}",
        "partners": "партнёры поимённо: {values}",
        "online_affiliate": "онлайн-партнёры",
        "offline_point": "офлайн-точки",
        "ambassador": "амбассадоры",
        "cofactor": "кофакторы",
    },
    "en": {
        "everybody": "every partner",
        "nobody": "nobody",
        "regions": "regions: {values}",
        "partner_types": "types: {values}",
        "tags": "tags: {values}",
        "partners": "partners by name: {values}",
        "online_affiliate": "online affiliates",
        "offline_point": "offline points",
        "ambassador": "ambassadors",
        "cofactor": "co-factors",
    },
}


def describe_enrolment(enrolment: Enrolment, lang: str = "ru") -> str:
    """Who takes part, in words: the selectors (all must match) and the partners listed
    by name (``регионы: A; виды: офлайн-точки; партнёры поимённо: P-1``)."""
    phrases = _ENROLMENT[lang]
    if enrolment.is_everybody:
        return phrases["everybody"]
    parts = []
    for name in ENROLMENT_LISTS:
        values = getattr(enrolment, name)
        if values is None:
            continue
        shown = [phrases.get(v, v) for v in values] if name == "partner_types" else list(values)
        parts.append(phrases[name].format(values=", ".join(shown) or phrases["nobody"]))
    return "; ".join(parts)


def _join(values: Sequence[str], lang: str) -> str:
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + _PHRASES[lang]["and"] + values[-1]


def _day(value: date, lang: str) -> str:
    return format_date(value, format="long", locale=lang)


def describe_scope(scope: Scope, lang: str = "ru") -> str:
    """The scope as a phrase starting with a space (empty for "everything")."""
    phrases = _PHRASES[lang]
    labels = _LABELS[lang]
    lists = (
        scope.channels,
        scope.regions,
        scope.categories,
        scope.partner_types,
        scope.partners,
        scope.tags,
    )
    if any(values is not None and not values for values in lists):
        return phrases["nothing"]
    parts: list[str] = []
    if scope.channels:
        parts.append(
            phrases["channels"].format(values=_join([labels[c] for c in scope.channels], lang))
        )
    for values, one, many in (
        (scope.regions, "region", "regions"),
        (scope.categories, "category", "categories"),
    ):
        if values:
            key = one if len(values) == 1 else many
            parts.append(phrases[key].format(values=", ".join(values)))
    if scope.partner_types:
        types = _join([labels[t] for t in scope.partner_types], lang)
        parts.append(phrases["partner_types"].format(values=types))
    if scope.partners:
        key = "partner" if len(scope.partners) == 1 else "partners"
        parts.append(phrases[key].format(values=", ".join(scope.partners)))
    if scope.tags:
        key = "tag" if len(scope.tags) == 1 else "tags"
        parts.append(phrases[key].format(values=", ".join(scope.tags)))
    if scope.valid_from and scope.valid_to:
        parts.append(
            phrases["between"].format(
                start=_day(scope.valid_from, lang), end=_day(scope.valid_to, lang)
            )
        )
    elif scope.valid_from:
        parts.append(phrases["from"].format(start=_day(scope.valid_from, lang)))
    elif scope.valid_to:
        parts.append(phrases["until"].format(end=_day(scope.valid_to, lang)))
    return "".join(parts)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _number(value: Any, lang: str, money: bool, currency: str | None) -> str:
    if not _is_number(value):
        return str(value)
    text = format_decimal(value, locale=lang, decimal_quantization=False)
    if not (money and currency):
        return text
    # as the pages write money: "300 ₽", not "300 RUB"
    return f"{text}\xa0{currency_sign(currency, lang)}"


def _values(
    template: RuleTemplate, params: Mapping[str, Any], lang: str, currency: str | None
) -> dict[str, str]:
    money = set(template.money_params)
    out: dict[str, str] = {}
    for name in template.param_names:
        value = params.get(name, template.param_default(name))
        if name in template.optional_format:
            out[name] = (
                ""
                if value is None
                else template.optional_format[name][lang].format(**{name: value})
            )
        elif name in template.value_labels and value is not None:
            out[name] = template.value_labels[name].get(str(value), {}).get(lang, str(value))
        elif name in template.item_format and isinstance(value, Sequence):
            items = []
            for level, item in enumerate(value, start=1):
                fields = item if isinstance(item, Mapping) else {"rate": item}
                formatted = {
                    key: _number(v, lang, f"{name}.{key}" in money, currency)
                    for key, v in fields.items()
                }
                items.append(template.item_format[name][lang].format(level=level, **formatted))
            out[name] = "; ".join(items)
        else:
            out[name] = _number(value, lang, name in money, currency)
            if name in template.plural_words and _is_number(value):
                word = template.plural_words[name][lang][_plural_form(value, lang)]
                out[name] = f"{out[name]}\xa0{word}"
    return out


def _plural_form(value: int | Decimal, lang: str) -> str:
    return str(Locale.parse(lang).plural_form(value))


def describe_rule(
    rule: Rule, catalogue: TemplateCatalogue, lang: str = "ru", currency: str | None = None
) -> str:
    """One sentence a partner can read, e.g. «7 % с каждой продажи онлайн в регионе A».

    ``lang`` is ``ru`` or ``en``; with ``currency`` money amounts carry it. Raises
    ``KeyError`` for an unknown language or a template missing from ``catalogue``.
    """
    if lang not in _PHRASES:
        raise KeyError(f"unsupported language {lang!r}")
    template = catalogue[rule.template.value]
    values = _values(template, rule.params, lang, currency)
    return template.description[lang].format(scope=describe_scope(rule.scope, lang), **values)
