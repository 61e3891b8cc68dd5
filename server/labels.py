"""Words for stored values in the user's language.

The database keeps enum members as short English words (``offline_point``, ``held``);
screens show :func:`value_label` of them. One table serves every enum: a value means
the same wherever it is stored (``pending``, ``draft``, ``approved``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

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
    "unattributed": _l("no partner's code or link"),
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
}


def value_label(value: object) -> str:
    """The label of an enum member or stored value; the value itself if it has none."""
    if value is None:
        return EMPTY
    raw = value.value if isinstance(value, enum.Enum) else value
    label = VALUE_LABELS.get(raw) if isinstance(raw, str) else None
    return str(label) if label is not None else str(raw)


def shown_value(value: object) -> object:
    """A cell of a list or record: empty as a dash, an instant to the minute (UTC), a
    yes/no as a word."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") + (" UTC" if value.tzinfo else "")
    if isinstance(value, date):
        return value.isoformat()
    return value
