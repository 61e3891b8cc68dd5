"""Code commands: unique across partners, never reused after revocation, audited."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.errors import CommandError
from server.extensions import db
from server.partners.codes import NewCode, generate_code, revoke_codes
from server.partners.models import AttributionCode, CodeKind, CodeStatus, PartnerKind
from tests.support.factories import partner


def test_generated_codes_have_their_kind_shape(app_ctx: Flask) -> None:
    owner = partner("A-SHOP-01", kind=PartnerKind.offline_point)
    db.session.commit()
    promo = generate_code(NewCode(owner.id, CodeKind.promo))
    qr = generate_code(NewCode(owner.id, CodeKind.qr))
    referral = generate_code(NewCode(owner.id, CodeKind.referral))

    assert re.fullmatch(r"ASHOP0-[A-HJKMNP-Z2-9]{6}", promo.code)
    for token in (qr.code, referral.code):
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)  # 128 random bits
    assert qr.code != referral.code
    assert {row.status for row in (promo, qr, referral)} == {CodeStatus.active}
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions == ["code.generate"] * 3


def test_a_chosen_promo_code_is_unique_across_partners_in_any_case(app_ctx: Flask) -> None:
    first, second = (
        partner("P-1", kind=PartnerKind.offline_point),
        partner("P-2", kind=PartnerKind.offline_point),
    )
    db.session.commit()
    generate_code(NewCode(first.id, CodeKind.promo, code="SPRING26"))

    for owner, text in ((second, "SPRING26"), (second, "spring26"), (first, "Spring26")):
        with pytest.raises(CommandError):
            generate_code(NewCode(owner.id, CodeKind.promo, code=text))
    assert db.session.scalar(sa.select(sa.func.count(AttributionCode.id))) == 1


def test_a_revoked_code_is_never_reused(app_ctx: Flask) -> None:
    owner, other = (
        partner("P-1", kind=PartnerKind.offline_point),
        partner("P-2", kind=PartnerKind.offline_point),
    )
    db.session.commit()
    row = generate_code(NewCode(owner.id, CodeKind.promo, code="WINTER"))
    revoke_codes([row.id])

    for who in (owner, other):
        with pytest.raises(CommandError, match="WINTER"):
            generate_code(NewCode(who.id, CodeKind.promo, code="winter"))
    stored = db.session.scalars(sa.select(AttributionCode)).all()
    assert [(c.code, c.status) for c in stored] == [("WINTER", CodeStatus.revoked)]
    assert stored[0].revoked_at is not None


def test_codes_are_validated(app_ctx: Flask) -> None:
    owner = partner(kind=PartnerKind.offline_point)
    db.session.commit()
    for new in (
        NewCode(owner.id, CodeKind.qr, code="MYQRCODE"),  # QR tokens are drawn, not chosen
        NewCode(owner.id, CodeKind.promo, code="a b"),
        NewCode(owner.id, CodeKind.promo, code="../../x"),
        NewCode(owner.id, CodeKind.promo, code="x" * 65),
        NewCode(999999, CodeKind.promo),
    ):
        with pytest.raises(CommandError):
            generate_code(new)
    assert db.session.scalar(sa.select(sa.func.count(AttributionCode.id))) == 0


def test_revoke_is_all_or_nothing_and_once(app_ctx: Flask) -> None:
    owner = partner(kind=PartnerKind.offline_point)
    db.session.commit()
    rows = [generate_code(NewCode(owner.id, CodeKind.referral)) for _ in range(3)]
    ids = [row.id for row in rows]
    revoke_codes([ids[0]])

    with pytest.raises(CommandError):
        revoke_codes(ids)  # the first is revoked already
    with pytest.raises(CommandError):
        revoke_codes([ids[1], 999999])
    statuses = db.session.scalars(sa.select(AttributionCode.status).order_by(AttributionCode.id))
    assert list(statuses) == [CodeStatus.revoked, CodeStatus.active, CodeStatus.active]

    revoke_codes(ids[1:])
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(AttributionCode.status == CodeStatus.revoked)
        )
        == 3
    )
    revocations = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "code.revoke")
    ).all()
    assert len(revocations) == 3
    assert revocations[0].before is not None and revocations[0].before["status"] == "active"
