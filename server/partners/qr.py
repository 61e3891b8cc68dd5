"""QR codes for attribution codes (PNG, SVG) and the printable A4 sheet of an offline point.

Every QR code encodes the code's public URL: ``/q/<token>`` for QR tokens (a scan at a
point), ``/r/<code>`` for referral and promo codes (a click). The base URL is passed in:
the server's public address is configuration, not something a request may choose.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from urllib.parse import quote

import segno
import sqlalchemy as sa
from flask import render_template
from flask_babel import lazy_gettext as _l

from server.documents.pdf import PdfOptions, html_to_pdf
from server.documents.templates import assets_dir
from server.errors import CommandError
from server.extensions import db
from server.partners.models import AttributionCode, CodeKind, CodeStatus, Partner, PartnerKind

#: error correction "M" survives ~15 % damage: a scuffed sticker at a till still scans
ERROR_CORRECTION = "m"
#: pixels per module in PNG images (a 25-module code is 264 px wide with the border)
PNG_SCALE = 8
#: quiet zone in modules; the QR standard asks for 4
BORDER = 4
#: QR codes on one A4 sheet before it flows onto the next page (3 rows of 2)
CODES_PER_PAGE = 6


def public_url(base_url: str, code: AttributionCode) -> str:
    """The URL a code's QR image encodes and its caption shows."""
    route = "q" if code.kind is CodeKind.qr else "r"
    return f"{base_url.rstrip('/')}/{route}/{quote(code.code, safe='')}"


def qr_png(data: str, scale: int = PNG_SCALE) -> bytes:
    """A PNG image of a QR code holding ``data``."""
    buffer = io.BytesIO()
    segno.make(data, error=ERROR_CORRECTION, micro=False).save(
        buffer, kind="png", scale=scale, border=BORDER
    )
    return buffer.getvalue()


def qr_svg(data: str) -> bytes:
    """A standalone SVG image of a QR code holding ``data`` (scales to any print size)."""
    buffer = io.BytesIO()
    segno.make(data, error=ERROR_CORRECTION, micro=False).save(
        buffer, kind="svg", scale=1, border=BORDER, xmldecl=True, unit="mm", title=data
    )
    return buffer.getvalue()


@dataclass(frozen=True)
class SheetItem:
    code: str
    url: str
    svg_data_uri: str


def point_sheet_pdf(partner_id: int, base_url: str, language: str) -> bytes:
    """The printable A4 sheet of an offline point: each active QR code with its caption
    and the URL under it, in ``language`` ("ru" or "en") for the region's name.

    Raises:
        CommandError: the partner is unknown, not an offline point, or has no active
            QR code.
        server.documents.pdf.DocumentRenderError: WeasyPrint failed.
    """
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise CommandError(_l("Unknown partner %(id)s.", id=partner_id))
    if partner.kind is not PartnerKind.offline_point:
        raise CommandError(_l("QR sheets are printed for offline points only."))
    codes = db.session.scalars(
        sa.select(AttributionCode)
        .where(
            AttributionCode.partner_id == partner.id,
            AttributionCode.kind == CodeKind.qr,
            AttributionCode.status == CodeStatus.active,
        )
        .order_by(AttributionCode.id)
    ).all()
    if not codes:
        raise CommandError(_l("The point has no active QR code: generate one first."))
    items = []
    for code in codes:
        url = public_url(base_url, code)
        encoded = base64.b64encode(qr_svg(url)).decode("ascii")
        items.append(SheetItem(code.code, url, f"data:image/svg+xml;base64,{encoded}"))
    region = partner.region
    region_name = (region.name_en if language == "en" else region.name_ru) if region else None
    html = render_template(
        "codes/qr_sheet.html",
        partner=partner,
        region_name=region_name,
        items=items,
        per_page=CODES_PER_PAGE,
        language=language,
    )
    return html_to_pdf(html, SHEET_CSS, PdfOptions(assets_dir(), pdf_variant=None))


SHEET_CSS = """
@font-face { font-family: "Sheet"; src: url(fonts/DejaVuSerif.ttf); }
@font-face { font-family: "Sheet"; font-weight: bold; src: url(fonts/DejaVuSerif-Bold.ttf); }
@page { size: A4; margin: 12mm; }
html { font-family: "Sheet", serif; font-size: 10pt; color: #111; }
h1 { font-size: 15pt; margin: 0 0 2mm; }
.place { margin: 0 0 6mm; color: #444; }
.grid { width: 100%; border-collapse: separate; border-spacing: 4mm; }
.grid td { width: 50%; border: 0.4pt dashed #999; padding: 4mm; text-align: center;
           vertical-align: top; page-break-inside: avoid; }
.grid img { width: 58mm; height: 58mm; }
.caption { font-weight: bold; font-size: 11pt; margin: 2mm 0 1mm; }
.url { font-size: 7.5pt; word-break: break-all; color: #333; }
.grid td.empty { border: none; }
.page-break { page-break-after: always; }
"""
