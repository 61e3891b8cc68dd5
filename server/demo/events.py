"""Six months of deterministic sample events in the spec's event format."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from server.demo.data import DemoPartner
from server.partners.models import CodeKind, PartnerKind, PartnerStatus

MOSCOW = timezone(timedelta(hours=3))
#: whole months of history before the month the demo is loaded in
HISTORY_MONTHS = 5
CATEGORIES = ["smartphones", "accessories", "premium", "services"]

#: event source names, as integrations would report them
SOURCE_ONLINE = "shop-online"
SOURCE_POS = "pos-import"
SOURCE_ADS = "ad-network"


def source_of(event: dict[str, Any]) -> str:
    if event["type"] == "impressions":
        return SOURCE_ADS
    if event.get("channel") == "offline":
        return SOURCE_POS
    if event["type"] == "refund":
        return str(event.get("_source", SOURCE_ONLINE))
    return SOURCE_ONLINE


def _code(partner: DemoPartner, kind: CodeKind) -> str | None:
    return next((code for code_kind, code in partner.codes if code_kind is kind), None)


def _money(rng: random.Random, low: int, high: int) -> str:
    value = Decimal(rng.randint(low * 100, high * 100)) / 100
    return f"{value:.2f}"


def _stamp(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=MOSCOW) + timedelta(
        minutes=rng.randint(0, 12 * 60), seconds=rng.randint(0, 59)
    )


@dataclass(frozen=True)
class DemoWindow:
    """The days the demo's history covers: from the first day of the month five months
    before the loading day's month, to the day before the loading day (both inclusive).

    Loaded on 2026-11-21 it runs from 2026-06-01 to 2026-11-20, so whoever tries the demo
    sees this month's accruals on the portal and the dashboard, whatever the day (on the
    first of a month, this month has none yet: its history stops yesterday).
    """

    first_day: date
    last_day: date

    @classmethod
    def ending_before(cls, today: date) -> DemoWindow:
        month_index = today.year * 12 + today.month - 1 - HISTORY_MONTHS
        return cls(date(month_index // 12, month_index % 12 + 1, 1), today - timedelta(days=1))

    @property
    def campaign(self) -> tuple[date, date]:
        """The demo's winter campaign: the last day's month and the month after it."""
        start = self.last_day.replace(day=1)
        after_next = (start + timedelta(days=62)).replace(day=1)
        return start, after_next - timedelta(days=1)


def demo_events(
    partners: list[DemoPartner], window: DemoWindow, seed: int = 2026
) -> Iterator[dict[str, Any]]:
    """Yield events in time order: sales, leads, impressions, refunds and a few bad ones.

    The mix exercises every rule of the demo program: tiers, first purchases, goals,
    overrides, points, holds (large sales, velocity bursts, self-referral), refunds,
    and rejections (unknown promo codes, a partner still onboarding).
    """
    rng = random.Random(seed)
    sellers = [
        p
        for p in partners
        if p.kind is not PartnerKind.cofactor and p.status is PartnerStatus.active
    ]
    # Partners still onboarding or suspended: a few of their sales arrive and are rejected.
    inactive = [p for p in partners if p.status is not PartnerStatus.active]
    affiliates = [p for p in sellers if p.kind is PartnerKind.online_affiliate]
    ambassadors = [p for p in partners if p.kind is PartnerKind.ambassador]
    pending: list[dict[str, Any]] = []
    counter = 0
    customers = 0
    day = window.first_day
    while day <= window.last_day:
        batch: list[dict[str, Any]] = []
        for _ in range(rng.randint(14, 26)):
            counter += 1
            seller = rng.choice(inactive if rng.random() < 0.02 else sellers)
            if rng.random() < 0.35 or customers == 0:
                customers += 1
                customer = f"k{customers:05d}"
            else:
                customer = f"k{rng.randint(1, customers):05d}"
            event: dict[str, Any] = {
                "id": f"S-{counter:06d}",
                "type": "sale",
                "occurred_at": _stamp(day, rng),
                "currency": "RUB",
                "customer": customer,
                "category": rng.choice(CATEGORIES),
            }
            if seller.kind is PartnerKind.offline_point:
                event.update(
                    channel="offline",
                    qr_token=_code(seller, CodeKind.qr),
                    amount=_money(rng, 400, 25000),
                )
            elif seller.kind is PartnerKind.ambassador:
                channel = rng.choice(["online", "offline"])
                event.update(
                    channel=channel,
                    promo_code=_code(seller, CodeKind.promo),
                    amount=_money(rng, 900, 30000),
                )
            else:
                event.update(
                    channel="online",
                    referral=_code(seller, CodeKind.referral),
                    amount=_money(rng, 800, 40000),
                )
            if rng.random() < 0.004:
                event["amount"] = _money(rng, 160000, 320000)  # held as a large sale
            if rng.random() < 0.01:
                event.pop("referral", None)
                event.pop("qr_token", None)
                event["promo_code"] = "SUMMER-UNKNOWN"  # rejected: unattributed
            batch.append(event)
            if rng.random() < 0.03:
                refund_day = day + timedelta(days=rng.randint(1, 12))
                full = rng.random() < 0.5
                amount = Decimal(event["amount"]) if full else Decimal(event["amount"]) / 2
                pending.append(
                    {
                        "id": f"R-{counter:06d}",
                        "type": "refund",
                        "occurred_at": _stamp(refund_day, rng),
                        "refers_to": event["id"],
                        "amount": f"{amount.quantize(Decimal('0.01'))}",
                        "currency": "RUB",
                        "_source": source_of(event),
                    }
                )
        if rng.random() < 0.15:  # a velocity burst: one customer, four sales in an hour
            customers += 1
            seller = rng.choice(affiliates)
            start = _stamp(day, rng)
            for burst in range(4):
                counter += 1
                batch.append(
                    {
                        "id": f"S-{counter:06d}",
                        "type": "sale",
                        "channel": "online",
                        "occurred_at": start + timedelta(minutes=10 * burst),
                        "referral": _code(seller, CodeKind.referral),
                        "amount": _money(rng, 500, 3000),
                        "currency": "RUB",
                        "customer": f"k{customers:05d}",
                    }
                )
        if rng.random() < 0.05:  # an ambassador buying through their own code
            ambassador = rng.choice(ambassadors)
            counter += 1
            batch.append(
                {
                    "id": f"S-{counter:06d}",
                    "type": "sale",
                    "channel": "online",
                    "occurred_at": _stamp(day, rng),
                    "promo_code": _code(ambassador, CodeKind.promo),
                    "amount": _money(rng, 1000, 9000),
                    "currency": "RUB",
                    "customer": ambassador.customer_ref,
                }
            )
        for affiliate in affiliates:
            if rng.random() < 0.4:
                counter += 1
                batch.append(
                    {
                        "id": f"L-{counter:06d}",
                        "type": "lead",
                        "channel": "online",
                        "occurred_at": _stamp(day, rng),
                        "referral": _code(affiliate, CodeKind.referral),
                    }
                )
            if day.weekday() == 6:
                counter += 1
                batch.append(
                    {
                        "id": f"I-{counter:06d}",
                        "type": "impressions",
                        "occurred_at": datetime(day.year, day.month, day.day, 23, 0, tzinfo=MOSCOW),
                        "partner": affiliate.code,
                        "count": rng.randint(5000, 60000),
                    }
                )
        due = [refund for refund in pending if refund["occurred_at"].date() <= day]
        pending = [refund for refund in pending if refund["occurred_at"].date() > day]
        batch.extend(due)
        batch.sort(key=lambda e: (e["occurred_at"], e["id"]))
        for event in batch:
            yield {**event, "occurred_at": event["occurred_at"].isoformat()}
        day += timedelta(days=1)
