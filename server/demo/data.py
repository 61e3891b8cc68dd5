"""The demo's fixed data: users, regions with their terms, and the partner network.

Everything is deterministic: the same demo loads the same rows every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from server.partners.models import CodeKind, PartnerKind, PartnerStatus
from server.partners.validation import correspondent_account_problem, settlement_account_problem
from server.rules.partners import PartnerDirectory, parse_partners
from server.security.roles import Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    first_name: str
    last_name: str
    partner_code: str | None = None


#: Demo logins, printed by `make run`. Passwords are public on purpose: this is a demo.
DEMO_USERS = [
    DemoUser("admin", "admin-demo", Role.ADMIN, "Анна", "Админова"),
    DemoUser("manager", "manager-demo", Role.MANAGER, "Михаил", "Партнёров"),
    DemoUser("legal", "legal-demo", Role.LEGAL, "Людмила", "Юрьева"),
    DemoUser("partner", "partner-demo", Role.PARTNER, "Антон", "Амбассадоров", "A-AMB-01"),
    DemoUser("integration", "integration-demo", Role.INTEGRATION, "Интеграция", "Магазина"),
]


@dataclass(frozen=True)
class DemoRegion:
    code: str
    name_ru: str
    name_en: str
    description: str
    payment_terms_days: int
    minimum_payout: Decimal
    exclusive_rights: str
    training_support: str
    marketing_support: str
    loyalty_and_events: str
    court: str
    city: str


REGIONS = [
    DemoRegion(
        "A",
        "Регион A — Центр",
        "Region A — Centre",
        "Повышенные комиссии, эксклюзивные продукты, совместные локальные мероприятия.",
        15,
        Decimal("1000"),
        "Эксклюзивные права на продажу премиальной линейки в пределах территории.",
        "Вводное обучение продукту.",
        "Совместные локальные мероприятия, брендированные материалы.",
        "Совместные локальные события с партнёрами региона.",
        "Арбитражный суд города Москвы",
        "Москва",
    ),
    DemoRegion(
        "B",
        "Регион B — Северо-Запад",
        "Region B — North-West",
        "Гибкая тарифная сетка, поддержка обучения, скидки на маркетинговые материалы.",
        30,
        Decimal("2000"),
        "Без территориальной эксклюзивности.",
        "Регулярные обучающие вебинары и сертификация продавцов.",
        "Скидка 30 % на маркетинговые материалы.",
        "—",
        "Арбитражный суд города Санкт-Петербурга и Ленинградской области",
        "Санкт-Петербург",
    ),
    DemoRegion(
        "C",
        "Регион C — Юг",
        "Region C — South",
        "Специальные программы лояльности, совместные выставки, сезонный спрос.",
        30,
        Decimal("1500"),
        "Эксклюзивное участие в региональных выставках бренда.",
        "Обучение перед сезоном.",
        "Совместные выставки и сезонные акции.",
        "Программа лояльности для розничных точек: баллы за каждые 100 ₽ продаж.",
        "Арбитражный суд Краснодарского края",
        "Краснодар",
    ),
]


@dataclass(frozen=True)
class DemoPartner:
    code: str
    name: str
    kind: PartnerKind
    region: str
    parent: str | None
    status: PartnerStatus
    codes: tuple[tuple[CodeKind, str], ...]
    customer_ref: str | None = None


_NAMES = {
    PartnerKind.cofactor: [
        "Агентство событий «Волна»",
        "Медиа «Город сегодня»",
        "Выставочный центр «Экспо-Юг»",
    ],
    PartnerKind.ambassador: [
        "Антон Амбассадоров",
        "Вера Соколова",
        "Илья Громов",
        "Ольга Лебедева",
        "Тимур Назаров",
        "Дарья Кузнецова",
    ],
    PartnerKind.offline_point: [
        "Магазин «Техно» на Тверской",
        "Салон «Гаджет» (ТЦ Авиапарк)",
        "Сервисный центр «Мастер»",
        "Магазин «Дом электроники»",
        "Салон «Связной-Плюс»",
        "Магазин «Электрон» на Невском",
        "Сервис «Ремонт за час»",
        "Салон «Цифра» (Купчино)",
        "Магазин «Юг-Техника»",
        "Салон «Море гаджетов»",
        "Сервисный центр «Кубань»",
        "Магазин «Солнечный»",
    ],
    PartnerKind.online_affiliate: [
        "Блог «Гаджеты без воды»",
        "Канал «Обзоры за 5 минут»",
        "Сайт «Выбор покупателя»",
        "Рассылка «Скидки недели»",
        "Паблик «Техно-Питер»",
        "Сайт «Цены Юга»",
        "Блог «Умный дом»",
        "Канал «Распаковка»",
        "Сайт «Лучшее за неделю»",
    ],
}


def demo_partners() -> list[DemoPartner]:
    """Per region: a co-factor at the top, 2 ambassadors under it, 4 points and 3
    affiliates under the ambassadors; one partner onboarding and one suspended."""
    partners: list[DemoPartner] = []
    used = {kind: 0 for kind in _NAMES}

    def name(kind: PartnerKind) -> str:
        value = _NAMES[kind][used[kind] % len(_NAMES[kind])]
        used[kind] += 1
        return value

    for region in "ABC":
        lower = region.lower()
        cofactor = f"{region}-COF-01"
        partners.append(
            DemoPartner(
                cofactor,
                name(PartnerKind.cofactor),
                PartnerKind.cofactor,
                region,
                None,
                PartnerStatus.active,
                ((CodeKind.promo, f"EVENT{region}"),),
            )
        )
        ambassadors = [f"{region}-AMB-0{i}" for i in (1, 2)]
        for index, code in enumerate(ambassadors, start=1):
            partners.append(
                DemoPartner(
                    code,
                    name(PartnerKind.ambassador),
                    PartnerKind.ambassador,
                    region,
                    cofactor,
                    PartnerStatus.active,
                    (
                        (CodeKind.promo, f"AMB{region}{index}"),
                        (CodeKind.referral, f"amb-{lower}{index}"),
                    ),
                    customer_ref=f"cust-amb-{lower}{index}",
                )
            )
        for index in range(1, 5):
            status = (
                PartnerStatus.onboarding if (region, index) == ("B", 4) else PartnerStatus.active
            )
            partners.append(
                DemoPartner(
                    f"{region}-SHOP-0{index}",
                    name(PartnerKind.offline_point),
                    PartnerKind.offline_point,
                    region,
                    ambassadors[(index - 1) % 2],
                    status,
                    ((CodeKind.qr, f"qr-{lower}-shop-{index}"),),
                )
            )
        for index in range(1, 4):
            status = (
                PartnerStatus.suspended if (region, index) == ("C", 3) else PartnerStatus.active
            )
            partners.append(
                DemoPartner(
                    f"{region}-WEB-0{index}",
                    name(PartnerKind.online_affiliate),
                    PartnerKind.online_affiliate,
                    region,
                    ambassadors[index % 2],
                    status,
                    (
                        (CodeKind.referral, f"web-{lower}{index}"),
                        (CodeKind.promo, f"WEB{region}{index}"),
                    ),
                )
            )
    return partners


def fake_inn(seed: int) -> str:
    """A 10-digit legal-entity INN with a valid check digit (deterministic, fictitious)."""
    digits = [int(d) for d in f"77{seed:07d}"]
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def fake_ogrn(seed: int) -> str:
    """A 13-digit OGRN with a valid check digit (deterministic, fictitious)."""
    base = f"102770{seed:06d}"
    return base + str(int(base) % 11 % 10)


#: the demo's bank (fictitious, with a well-formed BIK)
DEMO_BANK = ("АО «Демо-Банк»", "044525974")


def fake_account(head: str, seed: int, valid: Callable[[str], bool]) -> str:
    """A 20-digit account starting with ``head`` whose control key (the 9th digit) makes
    it ``valid`` (deterministic, fictitious)."""
    for key in "0123456789":
        account = f"{head}{key}{seed:011d}"
        if valid(account):
            return account
    raise AssertionError("one of ten control keys always matches")


def demo_requisites(index: int, city: str) -> dict[str, str]:
    """Address, bank and accounts of the ``index``-th demo partner in ``city``."""
    bank, bik = DEMO_BANK
    return {
        "legal_address": f"г. {city}, ул. Партнёрская, д. {index}",
        "bank_name": bank,
        "bik": bik,
        "settlement_account": fake_account(
            "40702810", index, lambda a: settlement_account_problem(a, bik) is None
        ),
        "correspondent_account": fake_account(
            "30101810", 974, lambda a: correspondent_account_problem(a, bik) is None
        ),
        "phone": f"+7 900 000-{index // 100:02d}-{index % 100:02d}",
    }


def demo_partner_directory() -> PartnerDirectory:
    """The demo partners as the rules engine reads them (the spec's partners document)."""
    return parse_partners(
        {
            "partners": [
                {
                    "id": p.code,
                    "type": p.kind.value,
                    "region": p.region,
                    "parent": p.parent,
                    "status": p.status.value,
                    "customer_ref": p.customer_ref,
                    "codes": {
                        kind.value: [code for k, code in p.codes if k is kind]
                        for kind, _ in p.codes
                    },
                }
                for p in demo_partners()
            ]
        }
    )
