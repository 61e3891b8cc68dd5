"""The partner directory: partners, their attribution codes and recruitment tree."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from server.rules.program import Issue, PartnerType
from server.rules.yaml_loader import load_yaml

log = logging.getLogger(__name__)


class PartnerStatus(str, Enum):
    """Only ``active`` partners receive accruals."""

    ACTIVE = "active"
    ONBOARDING = "onboarding"
    SUSPENDED = "suspended"


class CodeKind(str, Enum):
    """Attribution code kinds of the partners file."""

    PROMO = "promo"
    QR = "qr"
    REFERRAL = "referral"


class PartnersError(ValueError):
    """A partners document is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


@dataclass(frozen=True)
class PartnerInfo:
    """One partner as the rules engine sees it."""

    id: str
    type: PartnerType
    region: str | None
    parent: str | None
    status: PartnerStatus
    customer_ref: str | None = None
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: segments the partner belongs to (matched by scope and enrolment ``tags``)
    tags: frozenset[str] = frozenset()

    @property
    def is_active(self) -> bool:
        """Whether the partner may receive accruals."""
        return self.status is PartnerStatus.ACTIVE


class PartnerDirectory:
    """Partners by id and by attribution code, with the recruitment chain.

    Build it with :func:`parse_partners` (which validates) or directly from
    :class:`PartnerInfo` objects that are already consistent.
    """

    def __init__(self, partners: list[PartnerInfo] | tuple[PartnerInfo, ...]) -> None:
        self._by_id = {p.id: p for p in partners}
        self._by_code: dict[str, dict[str, str]] = {kind.value: {} for kind in CodeKind}
        for partner in partners:
            for kind, codes in partner.codes.items():
                for code in codes:
                    self._by_code[kind][code] = partner.id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[PartnerInfo]:
        return iter(self._by_id.values())

    def get(self, partner_id: str) -> PartnerInfo | None:
        """The partner with this id, or ``None``."""
        return self._by_id.get(partner_id)

    def by_code(self, kind: str, code: str) -> PartnerInfo | None:
        """The partner owning an attribution code of ``kind`` (exact, case-sensitive)."""
        partner_id = self._by_code.get(kind, {}).get(code)
        return self._by_id[partner_id] if partner_id is not None else None

    def ancestors(self, partner_id: str) -> Iterator[PartnerInfo]:
        """The parent, its parent, … up to a partner without one (level 1 first)."""
        current = self._by_id.get(partner_id)
        while current is not None and current.parent is not None:
            current = self._by_id.get(current.parent)
            if current is not None:
                yield current


def _text(value: object) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


_KEYS = (
    "id", "type", "region", "parent", "status", "customer_ref", "codes", "tags", "name", "title"
)  # fmt: skip


def _parse_partner(raw: object, index: int, issues: list[Issue]) -> PartnerInfo | None:
    where = f"partners[{index}]"
    if not isinstance(raw, dict):
        issues.append(Issue(where, "must be a mapping with id, type, region, parent, status"))
        return None
    partner_id = _text(raw.get("id"))
    if partner_id is None:
        issues.append(Issue(f"{where}.id", "missing or not text"))
        return None
    where = f"partner '{partner_id}'"
    before = len(issues)
    for name in raw:
        if name not in _KEYS:
            # Contact details and notes are not the engine's business: warn, don't refuse.
            log.warning(
                "%s.%s: unknown key ignored (expected %s)", where, name, ", ".join(_KEYS[:8])
            )
    types = {t.value: t for t in PartnerType}
    raw_type, raw_status = raw.get("type"), raw.get("status")
    partner_type = types.get(raw_type) if isinstance(raw_type, str) else None
    if partner_type is None:
        issues.append(Issue(f"{where}.type", f"must be one of {', '.join(types)}"))
    statuses = {s.value: s for s in PartnerStatus}
    status = statuses.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        issues.append(Issue(f"{where}.status", f"must be one of {', '.join(statuses)}"))
    optional: dict[str, str | None] = {}
    for name in ("region", "parent", "customer_ref"):
        value = raw.get(name)
        optional[name] = _text(value)
        if value is not None and optional[name] is None:
            issues.append(Issue(f"{where}.{name}", "must be text or null"))
    codes: dict[str, tuple[str, ...]] = {}
    raw_codes = raw.get("codes")
    if raw_codes is not None and not isinstance(raw_codes, dict):
        issues.append(Issue(f"{where}.codes", "must be a mapping of promo / qr / referral lists"))
    for kind, values in (raw_codes or {}).items() if isinstance(raw_codes, dict) else ():
        if kind not in {k.value for k in CodeKind}:
            issues.append(Issue(f"{where}.codes.{kind}", "unknown code kind (promo, qr, referral)"))
            continue
        items = values if isinstance(values, list) else [values]
        texts = [_text(v) for v in items if v is not None]
        if any(t is None for t in texts):
            issues.append(Issue(f"{where}.codes.{kind}", "codes must be text"))
            continue
        codes[kind] = tuple(t for t in texts if t is not None)
    raw_tags = raw.get("tags")
    tag_items = [] if raw_tags is None else raw_tags if isinstance(raw_tags, list) else [raw_tags]
    tags = [_text(t) for t in tag_items]
    if any(t is None for t in tags):
        issues.append(Issue(f"{where}.tags", "must be a list of tags (text)"))
    if len(issues) > before or partner_type is None or status is None:
        return None
    return PartnerInfo(
        id=partner_id,
        type=partner_type,
        region=optional["region"],
        parent=optional["parent"],
        status=status,
        customer_ref=optional["customer_ref"],
        codes=codes,
        tags=frozenset(t for t in tags if t is not None),
    )


def parse_partners(data: object) -> PartnerDirectory:
    """Validate a partners document and build the directory.

    Checks types and statuses, duplicate ids, duplicate codes within a kind, unknown
    parents and recruitment cycles. Raises :class:`PartnersError` listing every problem.
    """
    issues: list[Issue] = []
    raw_list: Any = data.get("partners") if isinstance(data, dict) else None
    if not isinstance(raw_list, list):
        raise PartnersError([Issue("partners file", "must be a mapping with a 'partners' list")])
    partners: list[PartnerInfo] = []
    ids: set[str] = set()
    for index, raw in enumerate(raw_list):
        partner = _parse_partner(raw, index, issues)
        if partner is None:
            continue
        if partner.id in ids:
            issues.append(Issue(f"partner '{partner.id}'.id", "duplicate partner id"))
            continue
        ids.add(partner.id)
        partners.append(partner)
    owners: dict[tuple[str, str], str] = {}
    for partner in partners:
        for kind, codes in partner.codes.items():
            for code in codes:
                owner = owners.setdefault((kind, code), partner.id)
                if owner != partner.id or codes.count(code) > 1:
                    issues.append(
                        Issue(
                            f"partner '{partner.id}'.codes.{kind}",
                            f"code '{code}' is already used by partner '{owner}'",
                        )
                    )
    by_id = {p.id: p for p in partners}
    for partner in partners:
        if partner.parent is not None and partner.parent not in by_id:
            issues.append(
                Issue(f"partner '{partner.id}'.parent", f"unknown partner '{partner.parent}'")
            )
    issues.extend(_cycles(partners, by_id))
    if issues:
        raise PartnersError(issues)
    return PartnerDirectory(partners)


def _cycles(partners: list[PartnerInfo], by_id: dict[str, PartnerInfo]) -> list[Issue]:
    """One issue per recruitment cycle (walks each chain once: linear time)."""
    done: set[str] = set()
    issues: list[Issue] = []
    for partner in partners:
        chain: list[str] = []
        on_chain: set[str] = set()
        current: str | None = partner.id
        while current is not None and current in by_id and current not in done:
            if current in on_chain:
                cycle = chain[chain.index(current) :]
                issues.append(
                    Issue(
                        f"partner '{current}'.parent",
                        "recruitment cycle: " + " → ".join([*cycle, current]),
                    )
                )
                break
            chain.append(current)
            on_chain.add(current)
            current = by_id[current].parent
        done.update(chain)
    return issues


def load_partners_yaml(text: str) -> PartnerDirectory:
    """Parse partners YAML text. Raises :class:`PartnersError` (also for malformed YAML)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise PartnersError([Issue("partners file", f"invalid YAML: {exc}")]) from None
    return parse_partners(data)


def load_partners_file(path: Path | str) -> PartnerDirectory:
    """Read and parse a partners file. Raises :class:`PartnersError` or ``OSError``."""
    return load_partners_yaml(Path(path).read_text(encoding="utf-8"))
