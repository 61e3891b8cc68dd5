"""Commands over attribution codes: generate, revoke, and record a visit through one.

A code is unique across partners and kinds, and never reused: a revoked code keeps its
row (``AttributionCode.code`` is unique), so the same text can never be issued again,
not even in another letter case. Promo codes are meant to be read aloud and typed at a
till; QR tokens and referral codes travel only inside URLs, so they are long random
tokens nobody can guess or enumerate.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.partners.models import (
    REFERRER_LENGTH,
    USER_AGENT_LENGTH,
    AttributionCode,
    CodeClick,
    CodeKind,
    CodeStatus,
    Partner,
    VisitKind,
)

#: promo codes avoid letters and digits that read alike (0/O, 1/I/L)
PROMO_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: random characters after a promo code's partner prefix (31**6 ≈ 8.9e8 codes per prefix)
PROMO_RANDOM_LENGTH = 6
#: characters of the partner's code a promo code starts with
PROMO_PREFIX_LENGTH = 6
#: random bytes in a QR or referral token (128 bits, 22 URL-safe characters)
TOKEN_BYTES = 16
#: a code a manager types in: letters, digits, ``-`` and ``_``, 3 to 64 characters
CUSTOM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
#: attempts at drawing a random code that is not taken yet
GENERATE_ATTEMPTS = 10
#: the query parameter a referral redirect adds so the landing page can see the code
REFERRAL_PARAMETER = "ref"

#: the kinds of code each public route accepts
CLICK_KINDS = frozenset({CodeKind.referral, CodeKind.promo})
SCAN_KINDS = frozenset({CodeKind.qr})


class CodeNotFoundError(CommandError):
    """The code does not exist, is revoked, or is not of a kind the route accepts."""


@dataclass(frozen=True)
class NewCode:
    partner_id: int
    kind: CodeKind
    #: a code of the manager's choosing (promo codes only); ``None`` draws one
    code: str | None = None
    campaign_id: int | None = None


def generate_code(new: NewCode, actor_id: int | None = None) -> AttributionCode:
    """Issue a code of ``new.kind`` to the partner and write an audit entry; one transaction.

    Promo codes are readable (``WEBA1-7KQ4MX``) unless the manager chose the text; QR
    and referral codes are random URL-safe tokens and cannot be chosen.

    Raises:
        CommandError: the partner is unknown; a chosen code is malformed, given for a
            kind other than promo, or already exists (active or revoked, in any case).
    """
    session = db.session
    partner = session.get(Partner, new.partner_id)
    if partner is None:
        raise CommandError(_l("Unknown partner %(id)s.", id=new.partner_id))
    if new.code is not None:
        text = new.code.strip()
        if new.kind is not CodeKind.promo:
            raise CommandError(
                _l("Only promo codes can be chosen; QR and referral codes are drawn at random.")
            )
        if not CUSTOM_CODE.match(text):
            raise CommandError(
                _l("A code has 3 to 64 characters: Latin letters, digits, '-' and '_'.")
            )
        _refuse_taken(text)
    else:
        text = _draw_free_code(partner, new.kind)
    row = AttributionCode(
        partner_id=partner.id,
        kind=new.kind,
        code=text,
        status=CodeStatus.active,
        campaign_id=new.campaign_id,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same text issued at the same moment by someone else
        session.rollback()
        raise CommandError(_l("Code %(code)s already exists.", code=text)) from None
    _audit(actor_id, "code.generate", row, {"partner": partner.code, **_summary(row)})
    session.commit()
    return row


def revoke_codes(code_ids: list[int], actor_id: int | None = None) -> list[AttributionCode]:
    """Revoke every listed code and audit each; one transaction, all or nothing.

    A revoked code stops working at once (``/r``, ``/q`` and new events) and can never
    be issued again.

    Raises:
        CommandError: a code is unknown or already revoked (nothing is revoked then).
    """
    session = db.session
    if not code_ids:
        raise CommandError(_l("Select at least one code."))
    rows = session.scalars(
        sa.select(AttributionCode).where(AttributionCode.id.in_(code_ids)).with_for_update()
    ).all()
    missing = set(code_ids) - {row.id for row in rows}
    if missing:
        session.rollback()
        raise CommandError(_l("Unknown codes: %(ids)s.", ids=", ".join(map(str, sorted(missing)))))
    revoked = sorted(row.code for row in rows if row.status is CodeStatus.revoked)
    if revoked:
        session.rollback()
        raise CommandError(_l("Already revoked: %(codes)s.", codes=", ".join(revoked)))
    now = utcnow()
    for row in rows:
        before = _summary(row)
        row.status = CodeStatus.revoked
        row.revoked_at = now
        _audit(actor_id, "code.revoke", row, _summary(row), before=before)
    session.commit()
    return list(rows)


@dataclass(frozen=True)
class Visit:
    """What a visitor reached: the code's partner and where to send the browser."""

    code_id: int
    partner_id: int
    #: the partner's landing page with the code added, or ``None`` (show a page instead)
    redirect_to: str | None


def record_visit(
    code: str, kind: VisitKind, user_agent: str | None = None, referrer: str | None = None
) -> Visit:
    """Record a click (referral/promo code) or scan (QR token) and say where it leads.

    One transaction. Only active codes of the kind the route accepts count; the
    redirect target is always the partner's own landing page (http or https), never
    anything taken from the request.

    Raises:
        CodeNotFoundError: the code is unknown, revoked, or of another kind.
    """
    session = db.session
    kinds = SCAN_KINDS if kind is VisitKind.scan else CLICK_KINDS
    row = session.scalar(sa.select(AttributionCode).where(AttributionCode.code == code))
    if row is None or row.status is not CodeStatus.active or row.kind not in kinds:
        session.rollback()
        raise CodeNotFoundError(_l("Unknown or revoked code."))
    session.add(
        CodeClick(
            code_id=row.id,
            kind=kind,
            user_agent=_cut(user_agent, USER_AGENT_LENGTH),
            referrer=_cut(referrer, REFERRER_LENGTH),
        )
    )
    landing = safe_landing_url(row.partner.landing_url)
    visit = Visit(
        code_id=row.id,
        partner_id=row.partner_id,
        redirect_to=with_referral(landing, row.code) if landing else None,
    )
    session.commit()
    return visit


def safe_landing_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL with a host and nothing odd, else ``None``.

    Refused: other schemes (``javascript:``, ``data:``), scheme-relative URLs
    (``//host``), credentials in the host part, backslashes, whitespace and control
    characters (browsers repair those into other hosts).
    """
    if not url:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname or "@" in parts.netloc:
        return None
    return url


def with_referral(url: str, code: str) -> str:
    """``url`` with ``ref=<code>`` added to its query (kept if the page already sets it)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key == REFERRAL_PARAMETER for key, _ in query):
        query.append((REFERRAL_PARAMETER, code))
    return urlunsplit(parts._replace(query=urlencode(query)))


def find_active_code(code: str, kinds: frozenset[CodeKind]) -> AttributionCode | None:
    """The active code of one of ``kinds`` with exactly this text, or ``None``."""
    return db.session.scalar(
        sa.select(AttributionCode).where(
            AttributionCode.code == code,
            AttributionCode.status == CodeStatus.active,
            AttributionCode.kind.in_(kinds),
        )
    )


def visit_counts(code_id: int) -> dict[VisitKind, int]:
    """How many clicks and scans a code has had."""
    rows = db.session.execute(
        sa.select(CodeClick.kind, sa.func.count(CodeClick.id))
        .where(CodeClick.code_id == code_id)
        .group_by(CodeClick.kind)
    ).all()
    counts = dict.fromkeys(VisitKind, 0)
    counts.update({kind: count for kind, count in rows})
    return counts


def promo_prefix(partner_code: str) -> str:
    """The readable start of a partner's promo codes: its code's letters and digits."""
    cleaned = "".join(ch for ch in partner_code.upper() if ch.isascii() and ch.isalnum())
    return cleaned[:PROMO_PREFIX_LENGTH] or "P"


def draw_code(partner_code: str, kind: CodeKind) -> str:
    """A fresh random code of ``kind`` (not checked against the database)."""
    if kind is CodeKind.promo:
        tail = "".join(secrets.choice(PROMO_ALPHABET) for _ in range(PROMO_RANDOM_LENGTH))
        return f"{promo_prefix(partner_code)}-{tail}"
    return secrets.token_urlsafe(TOKEN_BYTES)


def _draw_free_code(partner: Partner, kind: CodeKind) -> str:
    for _ in range(GENERATE_ATTEMPTS):
        candidate = draw_code(partner.code, kind)
        if not _taken(candidate):
            return candidate
    raise CommandError(_l("Could not draw a free code; try again."))


def _taken(text: str) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count(AttributionCode.id)).where(
                sa.func.lower(AttributionCode.code) == text.lower()
            )
        )
        or 0
    ) > 0


def _refuse_taken(text: str) -> None:
    existing = db.session.scalar(
        sa.select(AttributionCode).where(sa.func.lower(AttributionCode.code) == text.lower())
    )
    if existing is None:
        return
    if existing.status is CodeStatus.revoked:
        raise CommandError(
            _l("Code %(code)s was revoked and can never be reused.", code=existing.code)
        )
    raise CommandError(_l("Code %(code)s already exists.", code=existing.code))


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _summary(row: AttributionCode) -> dict[str, Any]:
    return {
        "code": row.code,
        "kind": row.kind.value,
        "partner_id": row.partner_id,
        "status": row.status.value,
    }


def _audit(
    actor_id: int | None,
    action: str,
    row: AttributionCode,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
) -> None:
    record(actor_id, action, "attribution_code", row.id, before=before, after=after)
