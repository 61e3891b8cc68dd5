"""Actions run on entering a state, by a worker (see :mod:`server.workflows.runner`).

Each action is idempotent: run twice (a retry after a crash between the action's own
commit and the run being marked done), it finds its earlier work and does nothing
more. Each one commits its own work, or calls a command that does; it raises to fail,
and the runner records the reason. The actions call the areas' commands, never
reimplement them: contracts (:func:`~server.documents.contracts.create_contract`; the job
queues the PDF), codes (:func:`generate_code`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from string import Template
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.security.sqla.models import Role as RoleRow
from flask_appbuilder.security.sqla.models import User

from server.audit import notes
from server.audit.commands import record
from server.campaigns.models import Campaign, CampaignStatus
from server.db.types import utcnow
from server.documents.contracts import create_contract, local_today
from server.documents.models import Contract, ContractStatus
from server.errors import CommandError
from server.extensions import db
from server.partners.codes import NewCode, generate_code
from server.partners.models import AttributionCode, CodeKind, CodeStatus, Partner, PartnerStatus
from server.partners.terms import terms_in_force
from server.programs.commands import enrol_partner
from server.programs.models import Program, VersionStatus
from server.security.roles import Role
from server.workflows.mail import deliver
from server.workflows.models import (
    OutboxMessage,
    OutboxStatus,
    ProgramEnrollment,
    WorkflowActionRun,
    WorkflowInstance,
)
from server.workflows.subjects import Subject


class ActionFailed(CommandError):
    """An action could not do its work; the message says why, for the board."""


@dataclass(frozen=True)
class ActionContext:
    instance: WorkflowInstance
    run: WorkflowActionRun
    subject: Subject
    #: who fired the transition that queued the action (None: the system)
    actor_id: int | None
    #: when that transition was fired: the worker may run the action much later
    #: (a queue outage, rq's retries), and what the action records must not move
    fired_at: datetime


Action = Callable[[ActionContext], dict[str, Any]]


def _partner(context: ActionContext) -> Partner:
    if not isinstance(context.subject, Partner):
        raise ActionFailed(f"{context.run.action} needs a partner")
    return context.subject


def _audit(
    context: ActionContext,
    action: str,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    record(
        context.actor_id,
        action,
        entity_type,
        entity_id,
        before=before,
        after=after,
        comment=notes.note("workflow", number=context.instance.id),
    )


def generate_contract(context: ActionContext) -> dict[str, Any]:
    """The partner's contract: the one in force if there is one, else a new one."""
    partner = _partner(context)
    existing = db.session.scalar(
        sa.select(Contract.id)
        .where(Contract.partner_id == partner.id, Contract.status != ContractStatus.terminated)
        .order_by(Contract.id.desc())
        .limit(1)
    )
    if existing is not None:
        return {"contract_id": existing, "created": False}
    contract_id = create_contract(partner.id, actor_id=context.actor_id)
    return {"contract_id": contract_id, "created": True}


def _program(partner: Partner, slug: str | None, today: date) -> Program:
    """The named program, or the program of the partner's regional terms in force."""
    if slug:
        program = db.session.scalar(sa.select(Program).where(Program.slug == slug))
        if program is None:
            raise ActionFailed(f"Unknown program {slug!r}.")
        return program
    terms = terms_in_force(partner.region_id, today)
    version = terms.program_version if terms is not None else None
    if version is None or version.status is not VersionStatus.published:
        raise ActionFailed(
            f"Region {partner.region.code}: no terms in force naming a published program version."
        )
    return version.program


def assign_program(context: ActionContext) -> dict[str, Any]:
    """Enrol the partner in a program (``program``: its slug; by default the program of
    the partner's regional terms) from the partner's local today: the program's
    enrolment names the partner from a new version published that day
    (:func:`~server.programs.commands.enrol_partner`: audited, an open draft gets the
    partner too). A program that enrols everybody, or lists the partner already, is left
    as it is. The enrolment row records the version that enrols the partner."""
    partner = _partner(context)
    today = local_today(partner.region)
    program = _program(partner, context.run.params.get("program"), today)
    try:
        version = enrol_partner(
            program.id,
            partner.code,
            today,
            context.actor_id,
            note=notes.note("enrolled", partner=partner.code, number=context.instance.id),
        )
    except CommandError as error:
        raise ActionFailed(str(error)) from None
    enrolled = db.session.scalar(
        sa.select(ProgramEnrollment.id).where(
            ProgramEnrollment.partner_id == partner.id,
            ProgramEnrollment.program_version_id == version.id,
        )
    )
    if enrolled is None:
        enrollment = ProgramEnrollment(
            partner_id=partner.id, program_version_id=version.id, instance_id=context.instance.id
        )
        db.session.add(enrollment)
        db.session.flush()
        enrolled = enrollment.id
        _audit(
            context,
            "program.enroll",
            "partner",
            partner.id,
            None,
            {"program_version_id": version.id, "program": program.slug},
        )
        db.session.commit()
    return {"program_version_id": version.id, "enrollment_id": enrolled}


def issue_codes(context: ActionContext) -> dict[str, Any]:
    """One active code of each listed kind; kinds the partner already has are kept."""
    partner = _partner(context)
    issued: dict[str, str] = {}
    for kind_name in context.run.params.get("kinds", []):
        kind = CodeKind(kind_name)
        existing = db.session.scalar(
            sa.select(AttributionCode.code).where(
                AttributionCode.partner_id == partner.id,
                AttributionCode.kind == kind,
                AttributionCode.status == CodeStatus.active,
            )
        )
        if existing is None:
            existing = generate_code(NewCode(partner.id, kind), actor_id=context.actor_id).code
        issued[kind.value] = existing
    return {"codes": issued}


def _set_partner_status(context: ActionContext, status: PartnerStatus) -> dict[str, Any]:
    partner = _partner(context)
    before = partner.status
    if before is not status:
        partner.status = status
        _audit(
            context,
            f"partner.{status.value}",
            "partner",
            partner.id,
            {"status": before.value},
            {"status": status.value},
        )
        db.session.commit()
    return {"status": status.value, "changed": before is not status}


def activate_partner(context: ActionContext) -> dict[str, Any]:
    """Make the partner active (only active partners accrue)."""
    return _set_partner_status(context, PartnerStatus.active)


def suspend_partner(context: ActionContext) -> dict[str, Any]:
    return _set_partner_status(context, PartnerStatus.suspended)


def set_campaign_status(context: ActionContext) -> dict[str, Any]:
    """Set the campaign's status; the first ``running`` and the first ``closed`` also
    record the instant the manager fired the transition (``running_since``,
    ``closed_at``), not the later one the worker runs at: the ledger pays the campaign's
    rules only for events between the two (:mod:`server.campaigns.window`). Both are
    set once and never moved."""
    campaign = context.subject
    if not isinstance(campaign, Campaign):
        raise ActionFailed("set_campaign_status needs a campaign")
    status = CampaignStatus(context.run.params["status"])
    before = campaign.status
    if before is not status:
        campaign.status = status
        if status is CampaignStatus.running and campaign.running_since is None:
            campaign.running_since = context.fired_at
        if status is CampaignStatus.closed and campaign.closed_at is None:
            campaign.closed_at = context.fired_at
        _record_pause(campaign, before, status, context.fired_at)
        _audit(
            context,
            f"campaign.{status.value}",
            "campaign",
            campaign.id,
            {"status": before.value},
            {"status": status.value},
        )
        db.session.commit()
    return {"status": status.value}


def _record_pause(
    campaign: Campaign, before: CampaignStatus, status: CampaignStatus, fired_at: datetime
) -> None:
    """Pausing opens a pause in ``details["pauses"]``; leaving ``paused`` (resumed or
    closed) ends it, so the campaign's rules pay nothing in between
    (:mod:`server.campaigns.window`)."""
    pauses = [list(pair) for pair in (campaign.details or {}).get("pauses", [])]
    if status is CampaignStatus.paused:
        pauses.append([fired_at.isoformat(), None])
    elif before is CampaignStatus.paused and pauses and pauses[-1][1] is None:
        pauses[-1][1] = fired_at.isoformat()
    else:
        return
    campaign.details = {**(campaign.details or {}), "pauses": pauses}


def _manager_emails() -> list[str]:
    rows = db.session.scalars(
        sa.select(User.email)
        .join(User.roles)
        .where(RoleRow.name == Role.MANAGER.value, User.active.is_(True))
        .order_by(User.email)
    )
    return [email for email in rows if email]


def _language(subject: Subject) -> str:
    if isinstance(subject, Partner):
        terms = terms_in_force(subject.region_id, local_today(subject.region))
        if terms is not None:
            return terms.contract_language
    return str(current_app.config.get("BABEL_DEFAULT_LOCALE", "ru"))


def _placeholders(subject: Subject, context: ActionContext) -> dict[str, str]:
    values = {"state": context.run.state, "workflow": context.instance.definition.key}
    if isinstance(subject, Partner):
        values |= {"partner_name": subject.name, "partner_code": subject.code}
    else:
        values |= {"campaign_title": subject.title, "campaign_slug": subject.slug}
    return values


def notify_email(context: ActionContext) -> dict[str, Any]:
    """Write the message to the outbox and log it; send it by SMTP when configured.

    ``$partner_name``-style placeholders are filled by :class:`string.Template`
    (no expressions, no attribute access).
    """
    run = context.run
    message = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.action_run_id == run.id)
    )
    if message is not None and message.status is not OutboxStatus.failed:
        return {"message_id": message.id}
    subject = context.subject
    if run.params["to"] == "partner":
        email = subject.email if isinstance(subject, Partner) else None
        recipients = [email] if email else []
    else:
        recipients = _manager_emails()
    if not recipients:
        raise ActionFailed(f"No e-mail address for {run.params['to']}.")
    language = _language(subject)
    values = _placeholders(subject, context)
    title = Template(run.params["subject"][language if language == "en" else "ru"])
    body = Template(run.params["body"][language if language == "en" else "ru"])
    if message is None:
        message = OutboxMessage(action_run_id=run.id, status=OutboxStatus.failed)
        db.session.add(message)
    message.recipients = ", ".join(recipients)
    message.subject = title.safe_substitute(values)[:300]
    message.body = body.safe_substitute(values)
    try:
        message.status = deliver(recipients, message.subject, message.body)
    except Exception as error:  # SMTP and socket errors alike: record, then fail the run
        message.status = OutboxStatus.failed
        message.error = str(error) or error.__class__.__name__
        db.session.commit()
        raise ActionFailed(f"E-mail not sent: {message.error}") from error
    message.error = None
    message.sent_at = utcnow()
    db.session.commit()
    return {"message_id": message.id, "status": message.status.value}


#: the implementation of each action of :data:`server.workflows.catalogue.ACTIONS`
ACTION_FUNCTIONS: dict[str, Action] = {
    "generate_contract": generate_contract,
    "assign_program": assign_program,
    "issue_codes": issue_codes,
    "activate_partner": activate_partner,
    "suspend_partner": suspend_partner,
    "notify_email": notify_email,
    "set_campaign_status": set_campaign_status,
}
