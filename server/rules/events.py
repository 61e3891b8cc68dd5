"""Events: validation of one event dict into a typed :class:`Event`.

Validation follows the order in ``docs/rules.md`` (first failure wins). It is split in
two because the evaluator checks duplicate ids between the parts:

* :func:`read_header` – (a) JSON object, (b) ``id``, (c) ``occurred_at``; also what
  :mod:`server.rules.sorting` needs to order events;
* :func:`read_body` – (e) ``type``, (f) per-type fields, amounts, currency.

Refund checks against earlier sales and attribution need state and partners and live in
the evaluator.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from server.rules.money import CENT, parse_decimal

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventType(str, Enum):
    """The event types of the contract."""

    SALE = "sale"
    REFUND = "refund"
    LEAD = "lead"
    ACTION = "action"
    IMPRESSIONS = "impressions"


class Channel(str, Enum):
    """Where a sale, lead or action happened."""

    ONLINE = "online"
    OFFLINE = "offline"


class Reason(str, Enum):
    """Stable rejection phrases (``missing field: <name>`` is built by :func:`missing`)."""

    INVALID_JSON = "invalid json"
    INVALID_OCCURRED_AT = "invalid occurred_at"
    DUPLICATE_ID = "duplicate id"
    UNKNOWN_TYPE = "unknown type"
    INVALID_CHANNEL = "invalid channel"
    INVALID_AMOUNT = "invalid amount"
    INVALID_COUNT = "invalid count"
    CURRENCY_MISMATCH = "currency mismatch"
    UNKNOWN_SALE = "unknown sale"
    REFUND_EXCEEDS_SALE = "refund exceeds sale"
    UNATTRIBUTED = "unattributed"
    PARTNER_NOT_ACTIVE = "partner not active"


#: The largest sale or refund amount accepted: twelve digits before the point, two after.
#: Far above any real sale, and small enough that every accrual and every sum a statement
#: or a dashboard adds up stays exact in the ledger's money columns (server/db/types.py).
MAX_AMOUNT = Decimal("999999999999.99")

#: An event may be dated at most this far after it is received (API and CSV imports;
#: ``EVENTS_MAX_FUTURE_HOURS`` changes it). Clocks drift and time zones get mislabelled,
#: but an event from next year is a typo or a probe, and it would be paid.
DEFAULT_MAX_AHEAD = timedelta(hours=24)


def missing(field: str) -> str:
    """The rejection reason for a required field that is absent (or null)."""
    return f"missing field: {field}"


def invalid(field: str) -> str:
    """The rejection reason for an optional text field of the wrong type."""
    return f"invalid {field}"


#: the id is only spaces or invisible characters: not something a person can tell apart
BLANK_ID = "invalid id: blank"
#: " s1" and "s1" would be two sales to the ledger and one to whoever reads them
PADDED_ID = "invalid id: leading or trailing spaces"


def too_far_ahead(limit: timedelta) -> str:
    """The rejection reason for an event dated more than ``limit`` after its arrival."""
    hours = limit / timedelta(hours=1)
    return f"invalid occurred_at: more than {hours:g} hours ahead"


#: Attribution fields in the order they are tried, with the partner code kind they
#: resolve through (``None``: the value is a partner id).
ATTRIBUTION_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("partner", None),
    ("qr_token", "qr"),
    ("promo_code", "promo"),
    ("referral", "referral"),
)

_REQUIRED: dict[EventType, tuple[str, ...]] = {
    EventType.SALE: ("channel", "amount"),
    EventType.REFUND: ("refers_to", "amount"),
    EventType.LEAD: ("channel",),
    EventType.ACTION: ("channel", "action"),
    EventType.IMPRESSIONS: ("count",),
}
_TYPES = {t.value: t for t in EventType}
_CHANNELS = {c.value: c for c in Channel}


@dataclass(frozen=True, slots=True)
class EventHeader:
    """What every orderable event has: its id and its instant."""

    id: str
    occurred_at: datetime
    #: microseconds since the Unix epoch (UTC): the sort key with ``id``
    instant_us: int

    @property
    def local_date(self) -> date:
        """The date in the event's own UTC offset (decides months and validity)."""
        return self.occurred_at.date()


@dataclass(frozen=True, slots=True)
class Event:
    """A validated event. Money is ``Decimal``; absent optional fields are ``None``."""

    id: str
    type: EventType
    occurred_at: datetime
    instant_us: int
    local_date: date
    channel: Channel | None = None
    amount: Decimal | None = None
    count: int | None = None
    customer: str | None = None
    category: str | None = None
    region: str | None = None
    refers_to: str | None = None
    action: str | None = None
    #: the attribution values present, in the order they are tried: (field, value)
    attribution: tuple[tuple[str, str], ...] = ()


def parse_instant(value: object) -> datetime | None:
    """Read an ISO 8601 timestamp that carries a UTC offset; ``None`` otherwise.

    An instant whose UTC time falls outside years 1-9999 (``0001-01-01T00:00+01:00``,
    ``9999-12-31T23:59+00:00`` minus an offset) is refused too: nothing could store it.
    """
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return None
    return moment


def instant_us(moment: datetime) -> int:
    """Microseconds since the epoch; exact (no float), so ordering is exact."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def read_header(obj: object) -> EventHeader | tuple[str | None, str]:
    """Checks (a)–(c): returns the header, or ``(event id or None, reason)``."""
    if not isinstance(obj, dict):
        return None, Reason.INVALID_JSON.value
    event_id = obj.get("id")
    if not isinstance(event_id, str) or not event_id:
        return None, missing("id")
    if _blank(event_id):
        return None, BLANK_ID
    if event_id != event_id.strip():
        return event_id, PADDED_ID
    raw_time = obj.get("occurred_at")
    if raw_time is None:
        return event_id, missing("occurred_at")
    moment = parse_instant(raw_time)
    if moment is None:
        return event_id, Reason.INVALID_OCCURRED_AT.value
    return EventHeader(event_id, moment, instant_us(moment))


def _blank(text: str) -> bool:
    """Only spaces, control or invisible format characters (e.g. U+200B)?"""
    return all(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def received_too_late(header: EventHeader, received: datetime, limit: timedelta) -> str | None:
    """The reason to refuse an event dated more than ``limit`` after ``received``, or None.

    Intake's check (API, CSV imports), not :func:`read_header`'s: simulations replay
    files of any age, and what is "the future" there is not the machine's clock.
    """
    return too_far_ahead(limit) if header.occurred_at - received > limit else None


def read_amount(value: object) -> Decimal | None:
    """A sale's or refund's amount: a finite decimal in (0, :data:`MAX_AMOUNT`] with at
    most two decimals of value (``"10.50"`` and ``"10.500"`` are the same amount,
    ``"0.001"`` is not money); ``None`` otherwise.
    """
    amount = parse_decimal(value)
    if amount is None or not 0 < amount <= MAX_AMOUNT:
        return None
    return amount if amount.quantize(CENT) == amount else None


def _optional_text(obj: dict[str, Any], field: str) -> tuple[bool, str | None]:
    """(valid, value) of an optional text field; null counts as absent."""
    value = obj.get(field)
    if value is None:
        return True, None
    if isinstance(value, str):
        return True, value
    return False, None


#: More impressions than this in one event is not a count but a typo: like
#: :data:`MAX_AMOUNT`, twelve digits, so that count × a CPM rate stays far inside the
#: money columns' range (10**15 at 80 per thousand was an 80-trillion accrual).
MAX_COUNT = 10**12


def _read_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        number = int(value)
    return number if number is not None and 0 < number <= MAX_COUNT else None


def read_body(obj: dict[str, Any], header: EventHeader, currency: str) -> Event | str:
    """Checks (e)–(f) on an event whose header passed; returns the event or a reason.

    ``currency`` is the program's currency: a sale or refund naming another is refused.
    """
    raw_type = obj.get("type")
    if raw_type is None:
        return missing("type")
    event_type = _TYPES.get(raw_type) if isinstance(raw_type, str) else None
    if event_type is None:
        return Reason.UNKNOWN_TYPE.value
    for field in _REQUIRED[event_type]:
        if obj.get(field) is None:
            return missing(field)

    channel: Channel | None = None
    if event_type is not EventType.REFUND and obj.get("channel") is not None:
        raw_channel = obj["channel"]
        channel = _CHANNELS.get(raw_channel) if isinstance(raw_channel, str) else None
        if channel is None:
            return Reason.INVALID_CHANNEL.value

    amount: Decimal | None = None
    if event_type in (EventType.SALE, EventType.REFUND):
        amount = read_amount(obj["amount"])
        if amount is None:
            return Reason.INVALID_AMOUNT.value

    count: int | None = None
    if event_type is EventType.IMPRESSIONS:
        count = _read_count(obj["count"])
        if count is None:
            return Reason.INVALID_COUNT.value

    if event_type in (EventType.SALE, EventType.REFUND):
        raw_currency = obj.get("currency")
        if raw_currency is not None and raw_currency != currency:
            return Reason.CURRENCY_MISMATCH.value

    texts: dict[str, str | None] = {}
    for field in ("customer", "category", "region", "refers_to", "action"):
        ok, value = _optional_text(obj, field)
        if not ok:
            return Reason.UNKNOWN_SALE.value if field == "refers_to" else invalid(field)
        texts[field] = value
    if event_type is EventType.ACTION and not texts["action"]:
        return invalid("action")

    attribution: tuple[tuple[str, str], ...] = ()
    if event_type is not EventType.REFUND:
        attribution = tuple(
            (field, value)
            for field, _kind in ATTRIBUTION_FIELDS
            if isinstance(value := obj.get(field), str)
        )

    return Event(
        id=header.id,
        type=event_type,
        occurred_at=header.occurred_at,
        instant_us=header.instant_us,
        local_date=header.local_date,
        channel=channel,
        amount=amount,
        count=count,
        customer=(texts["customer"] or None) if event_type is EventType.SALE else None,
        category=texts["category"],
        region=texts["region"],
        refers_to=texts["refers_to"] if event_type is EventType.REFUND else None,
        action=texts["action"] if event_type is EventType.ACTION else None,
        attribution=attribution,
    )
