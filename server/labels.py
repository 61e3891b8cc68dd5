"""Words for stored values in the user's language.

The database keeps enum members as short English words (``offline_point``, ``held``);
screens show :func:`value_label` of them. One table serves every enum: a value means
the same wherever it is stored (``pending``, ``draft``, ``approved``).
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l

from server.audit.commands import SYSTEM_ACTOR
from server.audit.notes import DRAFT_COMMENT, READERS

#: shown for an empty value
EMPTY = "—"
YES = _l("yes")
NO = _l("no")

VALUE_LABELS: dict[str, LazyString] = {
    # partners and codes
    "online_affiliate": _l("online affiliate"),
    "offline_point": _l("offline point"),
    "ambassador": _l("ambassador"),
    "cofactor": _l("cofactor"),
    "onboarding": _l("onboarding"),
    "active": _l("active"),
    "suspended": _l("suspended"),
    "promo": _l("promo code"),
    "qr": _l("QR code"),
    "referral": _l("referral link"),
    "revoked": _l("revoked"),
    # events and the ledger
    "sale": _l("sale"),
    "refund": _l("refund"),
    "lead": _l("lead"),
    "action": _l("action"),
    "impressions": _l("impressions"),
    "pending": _l("pending"),
    "processed": _l("processed"),
    "rejected": _l("rejected"),
    "merged": _l("merged"),
    "commission": _l("commission"),
    "bonus": _l("bonus"),
    "override": _l("override"),
    "points": _l("points"),
    "reward": _l("reward"),
    "release": _l("hold released"),
    "forfeit": _l("forfeited"),
    # the reason of forfeits written before a rejection needed one (ledger/holds.py)
    "rejected by manager": _l("rejected by a manager"),
    "payout": _l("payout"),
    "adjustment": _l("adjustment"),
    "approved": _l("approved"),
    "held": _l("held"),
    "approve": _l("approval"),
    "reject": _l("rejection"),
    "ready": _l("ready"),
    "failed": _l("failed"),
    "online": _l("online"),
    "offline": _l("offline"),
    # document languages (contract templates, regional terms)
    "ru": _l("Russian"),
    "en": _l("English"),
    # rejection reasons (server.rules.events.Reason: the API answers with these words)
    "invalid json": _l("not a JSON object"),
    "invalid occurred_at": _l("invalid time of the event"),
    "duplicate id": _l("event id already seen"),
    "unknown type": _l("unknown event type"),
    "invalid channel": _l("invalid channel"),
    "invalid amount": _l("invalid amount"),
    "invalid count": _l("invalid count"),
    "currency mismatch": _l("currency other than the program's"),
    "unknown sale": _l("refund of an unknown sale"),
    "refund exceeds sale": _l("refund larger than the sale"),
    # an unknown partner id (NOPE-99) as much as a missing or unknown code
    "unattributed": _l("partner not found by its id, code or link"),
    "partner not active": _l("partner not active"),
    "no program in force": _l("no program in force"),
    # programs, campaigns, documents, workflows
    "draft": _l("draft"),
    "published": _l("published"),
    "archived": _l("archived"),
    "seasonal": _l("seasonal campaign"),
    "offline_event": _l("offline event"),
    "promo_push": _l("promo-code push"),
    "plan": _l("planned"),
    "running": _l("running"),
    "closed": _l("closed"),
    "agreement": _l("agreement"),
    "statement": _l("statement"),
    "sent": _l("sent"),
    "signed": _l("signed"),
    "terminated": _l("terminated"),
    "rendered": _l("rendered"),
    "acting": _l("acting"),
    "error": _l("error"),
    "finished": _l("finished"),
    "done": _l("done"),
    "document": _l("document"),
    "training": _l("training"),
    "approval": _l("approval"),
    "logged": _l("logged"),
    # the audit's actor when no person acted (server/audit/commands.py: SYSTEM_ACTOR)
    "system": _l("system"),
}


#: names of the keys of a stored mapping (a rule's parameters and scope, the fields of
#: an audit entry's before/after): shown as ``name: value`` in the reader's language
KEY_LABELS: dict[str, LazyString] = {
    # rule template parameters (the builder's form names them the same way)
    "rate": _l("Rate, %"),
    "tiers": _l("Tiers"),
    "from": _l("From (month-to-date sales)"),
    "campaign": _l("Campaign"),
    "amount": _l("Amount"),
    "event_type": _l("Event type"),
    "action": _l("Action name"),
    "metric": _l("Metric"),
    "threshold": _l("Threshold"),
    "period": _l("Period"),
    "reward": _l("Reward"),
    "rates": _l("Rates by level, %"),
    "per": _l("Per amount"),
    "points": _l("Points"),
    "above": _l("Above amount"),
    "max_sales": _l("Max sales"),
    "within_hours": _l("Within hours"),
    # a rule's scope (server.rules.program: SCOPE_LISTS, SCOPE_DATES)
    "regions": _l("Regions"),
    "channels": _l("Channels"),
    "partner_types": _l("Partner types"),
    "partners": _l("Partners"),
    "tags": _l("Tags"),
    "categories": _l("Categories"),
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid to"),
    # fields of records in the audit log's before/after
    "slug": _l("Slug"),
    "title": _l("Title"),
    "currency": _l("Currency"),
    "name": _l("Name"),
    "code": _l("Code"),
    "status": _l("Status"),
    "kind": _l("Kind"),
    "email": _l("Email"),
    "budget": _l("Budget"),
}


def key_label(key: object) -> str:
    """A mapping's key in words; the key itself where it has none."""
    label = KEY_LABELS.get(key) if isinstance(key, str) else None
    return str(label) if label is not None else str(key)


#: the rules contract's reasons that name a field (``missing field: amount``)
_FIELD_REASONS = (
    (re.compile(r"missing field: (?P<field>\w+)"), _l("missing field: %(field)s")),
    (re.compile(r"invalid (?P<field>\w+)"), _l("invalid value of %(field)s")),
)


def actor_label(name: object) -> object:
    """An audit entry's actor: a person's name as it is, the system in words."""
    return value_label(name) if name == SYSTEM_ACTOR else shown_value(name)


def system_note(value: object) -> object:
    """A stored note or comment in the reader's language where the system wrote it
    (:mod:`server.audit.notes`); people's own words, and anything else, as they are."""
    if not isinstance(value, str):
        return shown_value(value)
    draft = DRAFT_COMMENT.fullmatch(value)
    if draft:
        return f"{draft.group('versions')}: {system_note(draft.group('note'))}"
    return _phrase(READERS, value) or value


def _phrase(readers: tuple[tuple[re.Pattern[str], LazyString], ...], text: str) -> str | None:
    """The phrase of the first pattern that matches all of ``text``, filled with its
    named groups; None if none does."""
    for pattern, phrase in readers:
        found = pattern.fullmatch(text)
        if found:
            return str(phrase) % found.groupdict()
    return None


def value_label(value: object) -> str:
    """The label of an enum member or stored value; the value itself if it has none."""
    if value is None:
        return EMPTY
    raw = value.value if isinstance(value, enum.Enum) else value
    label = VALUE_LABELS.get(raw) if isinstance(raw, str) else None
    if label is None and isinstance(raw, str):
        return _phrase(_FIELD_REASONS, raw) or raw
    return str(label) if label is not None else str(raw)


#: how a reader writes a day, by language; the English screens keep ISO (unambiguous)
DAY_FORMATS = {"ru": "%d.%m.%Y", "en": "%Y-%m-%d"}


def _day_format() -> str:
    locale = get_locale()  # None outside a request: the product's own language
    return DAY_FORMATS.get(locale.language if locale is not None else "ru", DAY_FORMATS["en"])


def format_day(value: date) -> str:
    """A day as the reader writes it: ``07.12.2026`` in Russian, ``2026-12-07`` in English."""
    return value.strftime(_day_format())


def format_moment(value: datetime) -> str:
    """An instant to the minute, its day as :func:`format_day` writes it (no zone: the
    sentence around it names the zone, or :func:`shown_value` adds ``UTC``)."""
    return value.strftime(f"{_day_format()} %H:%M")


def shown_value(value: object) -> object:
    """A cell of a list or record: empty as a dash, an instant to the minute (UTC), a
    yes/no as a word, a list as its items' names (a relationship's records, a
    campaign's regions), a mapping as ``key: value`` pairs (a rule's parameters), where
    Flask-AppBuilder printed Python (``[<RuleInstance object at 0x…>]``, ``{'rate': '7'}``).
    """
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        return format_moment(value) + (" UTC" if value.tzinfo else "")
    if isinstance(value, date):
        return format_day(value)
    if isinstance(value, dict):
        return "; ".join(
            f"{key_label(key)}: {_item_text(item, bare=True)}" for key, item in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_item_text(item) for item in value)
    return value


def _item_text(value: object, bare: bool = False) -> str:
    """A value inside a list or mapping, as text. Nested collections are bracketed,
    except a list that is a mapping's value (``regions: A, B``)."""
    if isinstance(value, dict):
        pairs = (f"{key_label(key)}: {_item_text(item)}" for key, item in value.items())
        return "(" + ", ".join(pairs) + ")"
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            return EMPTY
        joined = ", ".join(_item_text(item) for item in value)
        return joined if bare else f"({joined})"
    if isinstance(value, enum.Enum):
        return value_label(value)
    if value is None or isinstance(value, bool | date):
        return str(shown_value(value))
    if isinstance(value, str) and value in VALUE_LABELS:
        return str(VALUE_LABELS[value])
    return str(value)


#: what an audit entry is about (its ``entity_type``, and the first part of an action),
#: where :data:`VALUE_LABELS` has no word for it or a different one
AUDIT_SUBJECTS: dict[str, LazyString] = {
    "accrual": _l("accrual"),
    "attribution_code": _l("attribution code"),
    "code": _l("attribution code"),
    "campaign": _l("campaign"),
    "contract": _l("contract"),
    "contract_template": _l("contract template"),
    "template": _l("contract template"),
    "hold": _l("held accrual"),
    "partner": _l("partner"),
    "period": _l("period"),
    "period_close": _l("period close"),
    "program": _l("program"),
    "program_version": _l("program version"),
    "regional_terms": _l("regional terms"),
    "terms": _l("regional terms"),
    "workflow": _l("workflow run"),
    "workflow_definition": _l("workflow definition"),
    "workflow_instance": _l("workflow run"),
}
#: what was done (the second part of an action: ``program_version.publish``); a status
#: reached (``partner.active``) and a hold verdict read as :data:`VALUE_LABELS` words
AUDIT_VERBS: dict[str, LazyString] = {
    "action_failed": _l("an automatic step failed"),
    "add_version": _l("new version"),
    "archive": _l("archiving"),
    "budget": _l("budget change"),
    "campaign": _l("campaign rule"),
    "close": _l("closing"),
    "compose": _l("composing"),
    "create": _l("creation"),
    "discard": _l("discarding"),
    "edit": _l("new draft"),
    "enroll": _l("enrolment in the program"),
    "enrolment": _l("participants changed"),
    "generate": _l("issue"),
    "import": _l("import"),
    "mark_paid": _l("marked paid"),
    "migrate": _l("moved to a new definition"),
    "publish": _l("publishing"),
    "render_failed": _l("rendering failed"),
    "render_retry": _l("rendering retried"),
    "revoke": _l("revocation"),
    "retry": _l("retry"),
    "rollback": _l("rollback"),
    "rule_add": _l("rule added"),
    "rule_delete": _l("rule deleted"),
    "rule_edit": _l("rule changed"),
    "rule_move": _l("rule moved"),
    "save": _l("saving"),
    "save_yaml": _l("saved as YAML"),
    "sent": _l("sending"),
    "signed": _l("signing"),
    "start": _l("start"),
    "terminated": _l("termination"),
    "title": _l("title change"),
    "transition": _l("next stage"),
}


def audit_subject(value: object) -> str:
    """An audit entry's entity type in words; the stored key if it has none."""
    label = AUDIT_SUBJECTS.get(value) if isinstance(value, str) else None
    return str(label) if label is not None else value_label(value)


def audit_action(value: object) -> str:
    """An audit action (``program_version.publish``) as "subject: what was done"."""
    if not isinstance(value, str) or "." not in value:
        return value_label(value)
    subject, verb = value.split(".", 1)
    label = AUDIT_VERBS.get(verb)
    return f"{audit_subject(subject)}: {label if label is not None else value_label(verb)}"
