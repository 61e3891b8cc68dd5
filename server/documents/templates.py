"""Contract template versions: seed import, save (validated), publish, select, diff.

A template key (``partner_agreement.ru``) has numbered versions. Drafts may be saved
over; a published version is frozen: saving it makes the next version as a draft.
Publishing a draft archives the key's previously published version. Contracts keep the
id of the version they were rendered from, so archived versions stay.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from server.audit.commands import record
from server.documents.manifest import (
    ManifestError,
    VariableCatalogue,
    load_seed_templates,
    load_variables,
)
from server.documents.models import ContractTemplate, TemplateKind, TemplateStatus
from server.documents.sandbox import (
    RenderLimitExceeded,
    TemplateIssue,
    TemplateRenderError,
    TemplateValidationError,
    render_source,
    validate_source,
)
from server.errors import CommandError
from server.extensions import db


class TemplateSaveError(CommandError):
    """A template was not saved: it does not compile, uses unknown variables or fails
    its trial render (a limit of the sandbox, or an error with the sample data)."""

    def __init__(self, issues: Sequence[TemplateIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


def templates_dir() -> Path:
    return Path(current_app.config["CONTRACT_TEMPLATES_DIR"])


def assets_dir() -> Path:
    return templates_dir() / "assets"


def variable_catalogue() -> VariableCatalogue:
    """The variables each template kind may use (``contract_templates/variables.yaml``)."""
    return load_variables(templates_dir())


def _audit(actor_id: int | None, action: str, template: ContractTemplate) -> None:
    after = {"key": template.key, "version": template.version, "status": template.status.value}
    record(actor_id, action, "contract_template", template.id, after=after)


def import_seed_templates(directory: Path | str | None = None) -> list[str]:
    """Import every seed template language as version 1 (published) where the key is
    absent; commit. Returns the keys created.

    Raises:
        server.documents.manifest.ManifestError: a seed file is invalid (nothing stored).
    """
    seeds = load_seed_templates(directory or templates_dir())
    existing = set(db.session.scalars(sa.select(ContractTemplate.key).distinct()))
    created = []
    for seed in seeds:
        for language in seed.languages:
            key = seed.stored_key(language)
            if key in existing:
                continue
            template = ContractTemplate(
                key=key,
                version=1,
                kind=seed.kind,
                language=language,
                region_code=seed.region_code,
                partner_kind=seed.partner_kind,
                body_html=seed.bodies[language],
                css=seed.css,
                status=TemplateStatus.published,
            )
            db.session.add(template)
            db.session.flush()
            _audit(None, "template.import", template)
            created.append(key)
    db.session.commit()
    return created


def check_template(kind: TemplateKind, body_html: str) -> None:
    """Validate a body for ``kind``: compiles in the sandbox, uses only known variables.

    Raises:
        TemplateSaveError: with every issue and its line number.
    """
    try:
        validate_source(body_html, variable_catalogue().names(kind))
    except TemplateValidationError as error:
        raise TemplateSaveError(error.issues) from None


def seed_sample(key: str, kind: TemplateKind, language: str) -> dict[str, Any] | None:
    """The sample data of the seed template ``key`` (``partner_agreement.ru``) came from,
    else of a seed of the same kind, in ``language``; None if there is no such seed."""
    try:
        seeds = load_seed_templates(templates_dir())
    except ManifestError:
        return None
    with_sample = [seed for seed in seeds if seed.sample]
    candidates = [seed for seed in with_sample if key.startswith(f"{seed.key}.")] or [
        seed for seed in with_sample if seed.kind is kind
    ]
    return {**candidates[0].sample, "language": language} if candidates else None


def trial_render(key: str, kind: TemplateKind, language: str, body_html: str) -> None:
    """Render ``body_html`` once with the seed's sample data, in the sandbox's child
    process and its limits, so a template that would stall or fail every render is
    refused when it is saved, not when a contract is due. Without a sample only the
    limits refuse (every variable would be unknown).

    Raises:
        TemplateSaveError: the render hit a limit or failed, with the line and reason.
    """
    sample = seed_sample(key, kind, language)
    try:
        render_source(body_html, sample or {"language": language})
    except TemplateValidationError as error:
        raise TemplateSaveError(error.issues) from None
    except RenderLimitExceeded as error:
        raise TemplateSaveError([error.issue]) from None
    except TemplateRenderError as error:
        if sample is not None:
            raise TemplateSaveError([error.issue]) from None


def _get(template_id: int) -> ContractTemplate:
    template = db.session.get(ContractTemplate, template_id)
    if template is None:
        raise CommandError(f"Contract template {template_id} does not exist.")
    return template


def save_template(
    template_id: int, body_html: str, css: str, actor_id: int | None = None
) -> ContractTemplate:
    """Save an edit of a template version and commit. A draft is updated in place; a
    published or archived version is left as it is and the edit becomes the key's next
    version, as a draft.

    Raises:
        TemplateSaveError: the body does not compile, uses unknown variables or fails
            its trial render (:func:`trial_render`).
        CommandError: the template does not exist.
    """
    base = _get(template_id)
    check_template(base.kind, body_html)
    trial_render(base.key, base.kind, base.language, body_html)
    if base.status is TemplateStatus.draft:
        base.body_html, base.css = body_html, css
        target = base
    else:
        target = ContractTemplate(
            key=base.key,
            version=_next_version(base.key),
            kind=base.kind,
            language=base.language,
            region_code=base.region_code,
            partner_kind=base.partner_kind,
            body_html=body_html,
            css=css,
            status=TemplateStatus.draft,
            created_by_id=actor_id,
        )
        db.session.add(target)
        db.session.flush()
    _audit(actor_id, "template.save", target)
    db.session.commit()
    return target


def _next_version(key: str) -> int:
    current = db.session.scalar(
        sa.select(sa.func.max(ContractTemplate.version)).where(ContractTemplate.key == key)
    )
    return int(current or 0) + 1


def publish_template(template_id: int, actor_id: int | None = None) -> ContractTemplate:
    """Publish a draft (validated again) and archive the key's published version; commit.

    Raises:
        CommandError: the template does not exist or is not a draft.
        TemplateSaveError: the draft no longer validates or fails its trial render.
    """
    template = _get(template_id)
    if template.status is not TemplateStatus.draft:
        raise CommandError(f"{template} is {template.status.value}; only drafts are published.")
    check_template(template.kind, template.body_html)
    trial_render(template.key, template.kind, template.language, template.body_html)
    for previous in db.session.scalars(
        sa.select(ContractTemplate).where(
            ContractTemplate.key == template.key,
            ContractTemplate.status == TemplateStatus.published,
        )
    ):
        previous.status = TemplateStatus.archived
    template.status = TemplateStatus.published
    _audit(actor_id, "template.publish", template)
    db.session.commit()
    return template


def select_template(
    kind: TemplateKind, language: str, region_code: str | None, partner_kind: str | None
) -> ContractTemplate | None:
    """The published template for a document: a template for the region and partner
    kind wins over one for the region, then the kind, then the general one."""
    candidates = db.session.scalars(
        sa.select(ContractTemplate).where(
            ContractTemplate.kind == kind,
            ContractTemplate.language == language,
            ContractTemplate.status == TemplateStatus.published,
            sa.or_(
                ContractTemplate.region_code.is_(None), ContractTemplate.region_code == region_code
            ),
            sa.or_(
                ContractTemplate.partner_kind.is_(None),
                ContractTemplate.partner_kind == partner_kind,
            ),
        )
    ).all()
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda t: (t.region_code is not None, t.partner_kind is not None, t.id),
    )


def template_versions(key: str) -> list[ContractTemplate]:
    """Every version of a key, newest first."""
    return list(
        db.session.scalars(
            sa.select(ContractTemplate)
            .where(ContractTemplate.key == key)
            .order_by(ContractTemplate.version.desc())
        )
    )


@dataclass(frozen=True)
class TemplateDiff:
    old_label: str
    new_label: str
    body: list[str]
    css: list[str]


def diff_templates(old: ContractTemplate, new: ContractTemplate) -> TemplateDiff:
    """Unified diffs of body and CSS between two versions (lines without newlines)."""

    def unified(a: str, b: str, what: str) -> list[str]:
        return list(
            difflib.unified_diff(
                a.splitlines(),
                b.splitlines(),
                f"{old} {what}",
                f"{new} {what}",
                lineterm="",
            )
        )

    return TemplateDiff(
        str(old),
        str(new),
        unified(old.body_html, new.body_html, "body"),
        unified(old.css, new.css, "css"),
    )
