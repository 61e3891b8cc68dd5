"""Differences between two program versions, in plain words (pure).

``diff_programs(old, new)`` compares rules by id: a rule added or removed, its
template changed, each parameter changed (``rate 5 → 7``), its scope changed, and its
position moved. Each :class:`RuleChange` carries both rules' plain-words sentences for
the side-by-side view and a short line per change in Russian and English.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from server.rules.plain_words import describe_enrolment, describe_rule, describe_scope
from server.rules.program import ProgramSpec, Rule
from server.rules.templates import TemplateCatalogue, default_catalogue


class ChangeKind(str, enum.Enum):
    added = "added"
    removed = "removed"
    changed = "changed"
    unchanged = "unchanged"


_PHRASES: dict[str, dict[str, str]] = {
    "ru": {
        "added": "Правило «{rule}» добавлено",
        "removed": "Правило «{rule}» удалено",
        "template": "шаблон {old} → {new}",
        "param": "{name}: {old} → {new}",
        "scope": "охват:{old} →{new}",
        "everything": " все события",
        "moved": "позиция {old} → {new}",
        "none": "—",
        "title": "название «{old}» → «{new}»",
        "currency": "валюта {old} → {new}",
        "enrolment": "участники: {old} → {new}",
    },
    "en": {
        "added": 'Rule "{rule}" added',
        "removed": 'Rule "{rule}" removed',
        "template": "template {old} → {new}",
        "param": "{name}: {old} → {new}",
        "scope": "scope:{old} →{new}",
        "everything": " every event",
        "moved": "position {old} → {new}",
        "none": "—",
        "title": 'title "{old}" → "{new}"',
        "currency": "currency {old} → {new}",
        "enrolment": "enrolment: {old} → {new}",
    },
}


#: template parameters by name in Russian (the builder's form labels, lower-cased):
#: a Russian diff reads «ставка, %: 5 → 7», not «rate: 5 → 7»; English keeps the names
PARAM_NAMES: dict[str, dict[str, str]] = {
    "ru": {
        "rate": "ставка, %",
        "tiers": "ступени",
        "from": "от (продажи с начала месяца)",
        "campaign": "кампания",
        "amount": "сумма",
        "event_type": "тип события",
        "action": "название действия",
        "metric": "показатель",
        "threshold": "порог",
        "period": "период",
        "reward": "награда",
        "rates": "ставки по уровням, %",
        "per": "за каждые",
        "points": "баллы",
        "above": "сумма свыше",
        "max_sales": "макс. продаж",
        "within_hours": "в течение часов",
    },
    "en": {},
}


@dataclass(frozen=True)
class RuleChange:
    """One rule's fate between two versions."""

    rule: str
    kind: ChangeKind
    old_sentence: str | None
    new_sentence: str | None
    details: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ProgramDiff:
    """Program-level changes (title, currency) and one entry per rule of either side."""

    program: tuple[str, ...]
    rules: tuple[RuleChange, ...]

    @property
    def changed(self) -> bool:
        return bool(self.program) or any(r.kind is not ChangeKind.unchanged for r in self.rules)

    def summary(self) -> list[str]:
        """Every change as one line, for the audit log and the version list."""
        lines = list(self.program)
        for change in self.rules:
            if change.kind is ChangeKind.unchanged:
                continue
            lines.extend(change.details)
        return lines


def _value(value: Any, lang: str, none: str) -> str:
    if value is None:
        return none
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format_decimal(value, locale=lang, decimal_quantization=False)
    if isinstance(value, Mapping):
        names = PARAM_NAMES[lang]
        return ", ".join(f"{names.get(k, k)} {_value(v, lang, none)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_value(v, lang, none) for v in value)
    return str(value)


def _param_lines(old: Rule, new: Rule, lang: str) -> list[str]:
    phrases = _PHRASES[lang]
    lines = []
    for name in dict.fromkeys([*old.params, *new.params]):
        before, after = old.params.get(name), new.params.get(name)
        if before != after:
            lines.append(
                phrases["param"].format(
                    name=PARAM_NAMES[lang].get(name, name),
                    old=_value(before, lang, phrases["none"]),
                    new=_value(after, lang, phrases["none"]),
                )
            )
    return lines


def _scope_text(rule: Rule, lang: str) -> str:
    return describe_scope(rule.scope, lang) or _PHRASES[lang]["everything"]


def diff_programs(
    old: ProgramSpec, new: ProgramSpec, lang: str = "ru", catalogue: TemplateCatalogue | None = None
) -> ProgramDiff:
    """Compare two programs rule by rule (by rule id), in the order of ``new`` then removed."""
    catalogue = catalogue if catalogue is not None else default_catalogue()
    phrases = _PHRASES[lang]
    program: list[str] = []
    if (old.title or "") != (new.title or ""):
        program.append(phrases["title"].format(old=old.title or "", new=new.title or ""))
    if old.currency != new.currency:
        program.append(phrases["currency"].format(old=old.currency, new=new.currency))
    if old.enrolment != new.enrolment:
        program.append(
            phrases["enrolment"].format(
                old=describe_enrolment(old.enrolment, lang),
                new=describe_enrolment(new.enrolment, lang),
            )
        )
    before = {rule.id: (index, rule) for index, rule in enumerate(old.rules)}
    after_ids = {rule.id for rule in new.rules}
    changes: list[RuleChange] = []
    for index, rule in enumerate(new.rules):
        sentence = describe_rule(rule, catalogue, lang, new.currency)
        if rule.id not in before:
            changes.append(
                RuleChange(
                    rule.id,
                    ChangeKind.added,
                    None,
                    sentence,
                    (phrases["added"].format(rule=rule.id) + ": " + sentence,),
                )
            )
            continue
        old_index, old_rule = before[rule.id]
        details: list[str] = []
        if old_rule.template is not rule.template:
            details.append(
                phrases["template"].format(old=old_rule.template.value, new=rule.template.value)
            )
        else:
            details.extend(_param_lines(old_rule, rule, lang))
        if old_rule.scope != rule.scope:
            details.append(
                phrases["scope"].format(
                    old=_scope_text(old_rule, lang), new=_scope_text(rule, lang)
                )
            )
        if old_index != index:
            details.append(phrases["moved"].format(old=old_index + 1, new=index + 1))
        kind = ChangeKind.changed if details else ChangeKind.unchanged
        changes.append(
            RuleChange(
                rule.id,
                kind,
                describe_rule(old_rule, catalogue, lang, old.currency),
                sentence,
                tuple(
                    f"«{rule.id}»: {line}" if lang == "ru" else f'"{rule.id}": {line}'
                    for line in details
                ),
            )
        )
    for rule in old.rules:
        if rule.id not in after_ids:
            changes.append(
                RuleChange(
                    rule.id,
                    ChangeKind.removed,
                    describe_rule(rule, catalogue, lang, old.currency),
                    None,
                    (phrases["removed"].format(rule=rule.id),),
                )
            )
    return ProgramDiff(tuple(program), tuple(changes))
