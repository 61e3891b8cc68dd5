"""Contracts: generate (number + snapshot), render (worker), send, sign, terminate.

:func:`create_contract` takes the partner's regional terms in force, the program
version they name and the published template for the terms' language, allocates the
region's next number, stores the contract with a plain-JSON snapshot and commits; the
caller queues the render (``enqueue_contract_renders`` in ``tasks/documents.py``).
:func:`render_contract` (run by the ``documents`` worker) renders the snapshot once,
stores the PDF and its SHA-256; a rendered contract is never rendered again. Statuses
move only along :data:`TRANSITIONS`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError

from server.audit.commands import record
from server.db.types import utcnow
from server.documents.models import (
    Contract,
    ContractStatus,
    ContractTemplate,
    RenderStatus,
    TemplateKind,
)
from server.documents.numbering import allocate_contract_number
from server.documents.pdf import DocumentRenderError
from server.documents.rendering import TemplateSource, render_document, render_html
from server.documents.snapshot import DEFAULT_COMPANY, agreement_snapshot, upgrade_snapshot
from server.documents.storage import StoredFileError, files_dir, stored_file, write_once
from server.documents.templates import assets_dir, select_template
from server.errors import CommandError
from server.extensions import db
from server.labels import format_day
from server.partners.models import Partner, PartnerStatus, Region
from server.partners.terms import terms_in_force
from server.programs.models import VersionStatus

logger = logging.getLogger(__name__)

#: the statuses a contract may move to from each status
TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    ContractStatus.draft: frozenset({ContractStatus.sent, ContractStatus.terminated}),
    ContractStatus.sent: frozenset({ContractStatus.signed, ContractStatus.terminated}),
    ContractStatus.signed: frozenset({ContractStatus.terminated}),
    ContractStatus.terminated: frozenset(),
}

#: signed scans accepted: extension → the bytes such a file starts with
SCAN_TYPES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
#: largest signed scan accepted, in bytes
MAX_SCAN_BYTES = 20 * 1024 * 1024


def company_details() -> Mapping[str, str]:
    """Our side of contracts: ``DOCUMENTS_COMPANY`` from the config, else the defaults."""
    return current_app.config.get("DOCUMENTS_COMPANY") or DEFAULT_COMPANY


def local_today(region: Region) -> date:
    """Today in the region's time zone (the date printed on its contracts)."""
    return utcnow().astimezone(ZoneInfo(region.timezone or "Europe/Moscow")).date()


def _get(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None:
        raise CommandError(f"Contract {contract_id} does not exist.")
    return contract


def _new_contract(partner: Partner, actor_id: int | None, on: date) -> Contract:
    """Build and add a contract for ``partner`` (no commit: callers own the transaction)."""
    region = partner.region
    terms = terms_in_force(region.id, on)
    if terms is None:
        raise CommandError(
            _l(
                "Region %(region)s has no terms in force on %(day)s.",
                region=region.code,
                day=format_day(on),
            )
        )
    version = terms.program_version
    if version is None or version.status is not VersionStatus.published:
        raise CommandError(
            f"The terms of region {region.code} (v{terms.version}) name no published program "
            "version: the contract could not state the commission."
        )
    template = select_template(
        TemplateKind.agreement, terms.contract_language, region.code, partner.kind.value
    )
    if template is None:
        raise CommandError(
            f"No published agreement template in {terms.contract_language!r} for region "
            f"{region.code}: import or publish one first."
        )
    number = allocate_contract_number(region.code, on.year)
    contract = Contract(
        number=number,
        partner_id=partner.id,
        template_id=template.id,
        status=ContractStatus.draft,
        render_status=RenderStatus.pending,
        snapshot=agreement_snapshot(
            number=number,
            issued_on=on,
            partner=partner,
            terms=terms,
            program_version=version,
            company=company_details(),
        ),
    )
    db.session.add(contract)
    db.session.flush()
    record(actor_id, "contract.create", "contract", contract.id, after={"number": number})
    return contract


def create_contract(partner_id: int, actor_id: int | None = None, on: date | None = None) -> int:
    """Create a partner's contract (numbered, snapshot taken, render pending); commit.

    Raises:
        CommandError: unknown partner, no terms in force, no published program version
            or agreement template for the terms' language.
    """
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise CommandError(f"Partner {partner_id} does not exist.")
    contract = _new_contract(partner, actor_id, on or local_today(partner.region))
    db.session.commit()
    return contract.id


def generate_region_contracts(
    region_code: str, actor_id: int | None = None, on: date | None = None
) -> list[int]:
    """Create contracts for every active or onboarding partner of a region that has no
    contract in force (none, or only terminated ones), in one transaction. Returns the
    new contract ids (the caller queues their renders).

    Raises:
        CommandError: the region is unknown, or a contract cannot be created (then none is).
    """
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
    if region is None:
        raise CommandError(f"Unknown region {region_code!r}.")
    day = on or local_today(region)
    has_contract = (
        sa.select(Contract.id)
        .where(Contract.partner_id == Partner.id, Contract.status != ContractStatus.terminated)
        .exists()
    )
    partners = db.session.scalars(
        sa.select(Partner)
        .where(
            Partner.region_id == region.id,
            Partner.status.in_([PartnerStatus.active, PartnerStatus.onboarding]),
            ~has_contract,
        )
        .order_by(Partner.code)
    ).all()
    ids = [_new_contract(partner, actor_id, day).id for partner in partners]
    db.session.commit()
    return ids


def pending_render_ids() -> list[int]:
    """Contracts whose PDF is still to be rendered (queued, or never queued)."""
    return list(
        db.session.scalars(
            sa.select(Contract.id)
            .where(Contract.render_status == RenderStatus.pending)
            .order_by(Contract.id)
        )
    )


def template_source(template: ContractTemplate) -> TemplateSource:
    return TemplateSource(template.body_html, template.css, template.language, str(template))


def contract_html(contract_id: int) -> str:
    """The contract's HTML re-rendered from its snapshot and template version.

    Raises:
        CommandError: unknown contract. Template errors as in :func:`render_contract`.
    """
    contract = _get(contract_id)
    return render_html(template_source(contract.template), upgrade_snapshot(contract.snapshot))


def _contract_folder(contract: Contract) -> Path:
    region, year, _ = contract.number.split("-", 2)
    return files_dir() / "contracts" / region / year


def render_contract(contract_id: int) -> RenderStatus:
    """Render a pending contract's PDF from its snapshot, store it and its SHA-256; commit.

    A rendered contract is left alone (immutable). Template and layout errors mark
    the contract ``failed`` with the error and return ``failed``; they are not raised.
    The file name carries the hash, so two workers rendering at once cannot mix up
    one's file with the other's hash.

    Raises:
        CommandError: the contract does not exist.
    """
    contract = _get(contract_id)
    if contract.render_status is RenderStatus.rendered:
        return RenderStatus.rendered
    try:
        document = render_document(
            template_source(contract.template), upgrade_snapshot(contract.snapshot), assets_dir()
        )
    except (TemplateError, DocumentRenderError) as error:
        contract.render_status = RenderStatus.failed
        contract.error = str(error)[:2000]
        record(
            None, "contract.render_failed", "contract", contract.id, after={"error": contract.error}
        )
        db.session.commit()
        return RenderStatus.failed
    digest = document.sha256
    try:
        path = write_once(
            _contract_folder(contract), f"{contract.number}-{digest[:12]}.pdf", document.pdf
        )
    except OSError as error:
        # A full or read-only disk: visible on the contract, retried from its page.
        contract.render_status = RenderStatus.failed
        contract.error = f"could not store the PDF: {error.strerror or error}"
        record(
            None, "contract.render_failed", "contract", contract.id, after={"error": contract.error}
        )
        db.session.commit()
        return RenderStatus.failed
    contract.pdf_path = str(path.relative_to(files_dir()))
    contract.sha256 = digest
    contract.render_status = RenderStatus.rendered
    contract.error = None
    db.session.commit()
    return RenderStatus.rendered


def retry_render(contract_id: int, actor_id: int | None = None) -> None:
    """Set a failed render back to pending, to be queued again by the caller (for
    failures outside the template, such as a full disk; the contract keeps its template
    version).

    Raises:
        CommandError: unknown contract, or its render did not fail.
    """
    contract = _get(contract_id)
    if contract.render_status is not RenderStatus.failed:
        raise CommandError(f"Contract {contract.number} did not fail to render.")
    contract.render_status = RenderStatus.pending
    record(actor_id, "contract.render_retry", "contract", contract.id)
    db.session.commit()


def _check_move(contract: Contract, target: ContractStatus) -> None:
    if target not in TRANSITIONS[contract.status]:
        raise CommandError(
            f"Contract {contract.number} is {contract.status.value}; "
            f"it cannot become {target.value}."
        )


def _move(contract: Contract, target: ContractStatus, actor_id: int | None) -> None:
    _check_move(contract, target)
    before = contract.status.value
    contract.status = target
    record(
        actor_id,
        f"contract.{target.value}",
        "contract",
        contract.id,
        after={"from": before, "to": target.value},
    )


def mark_contract_sent(contract_id: int, actor_id: int | None = None) -> None:
    """draft → sent (the rendered PDF went to the partner); commit.

    Raises:
        CommandError: unknown contract, wrong status, or no rendered PDF yet.
    """
    contract = _get(contract_id)
    if contract.render_status is not RenderStatus.rendered:
        raise CommandError(f"Contract {contract.number} has no rendered PDF to send yet.")
    _move(contract, ContractStatus.sent, actor_id)
    db.session.commit()


def scan_extension(filename: str, data: bytes) -> str:
    """The checked extension of a signed scan.

    Raises:
        CommandError: not a PDF, PNG or JPEG by name and content, empty, or too large.
    """
    extension = Path(filename).suffix.lower().lstrip(".")
    if extension not in SCAN_TYPES:
        raise CommandError("The signed scan must be a PDF, PNG or JPEG file.")
    if not data or len(data) > MAX_SCAN_BYTES:
        raise CommandError(f"The signed scan must be 1 byte to {MAX_SCAN_BYTES // 2**20} MB.")
    if not data.startswith(SCAN_TYPES[extension]):
        raise CommandError(f"The file's content is not a {extension.upper()} file.")
    return extension


def record_signed_contract(
    contract_id: int,
    filename: str,
    data: bytes,
    actor_id: int | None = None,
    signed_at: datetime | None = None,
) -> None:
    """sent → signed with the signed scan stored next to the PDF; commit.

    Raises:
        CommandError: unknown contract, wrong status, or an unacceptable scan.
    """
    contract = _get(contract_id)
    extension = scan_extension(filename, data)
    _check_move(contract, ContractStatus.signed)
    digest = hashlib.sha256(data).hexdigest()
    path = write_once(
        _contract_folder(contract), f"{contract.number}-signed-{digest[:12]}.{extension}", data
    )
    contract.signed_scan_path = str(path.relative_to(files_dir()))
    contract.signed_at = signed_at or utcnow()
    _move(contract, ContractStatus.signed, actor_id)
    db.session.commit()


def terminate_contract(contract_id: int, actor_id: int | None = None) -> None:
    """Any live status → terminated; commit.

    Raises:
        CommandError: unknown contract or already terminated.
    """
    contract = _get(contract_id)
    _move(contract, ContractStatus.terminated, actor_id)
    contract.terminated_at = utcnow()
    db.session.commit()


def contract_pdf(contract_id: int) -> tuple[Path, str]:
    """(path, download name) of a contract's verified PDF, for staff and the portal.

    Raises:
        CommandError: unknown contract. StoredFileError: not rendered or altered.
    """
    contract = _get(contract_id)
    if contract.render_status is not RenderStatus.rendered:
        raise StoredFileError(f"Contract {contract.number} has no PDF yet.")
    return stored_file(contract.pdf_path, contract.sha256), f"{contract.number}.pdf"


def contract_scan(contract_id: int) -> tuple[Path, str]:
    """(path, download name) of a contract's signed scan.

    Raises:
        CommandError: unknown contract. StoredFileError: no scan stored.
    """
    contract = _get(contract_id)
    path = stored_file(contract.signed_scan_path)
    return path, f"{contract.number}-signed{path.suffix}"
