"""Composing a campaign: its row, its own small program holding its bonus rule, its
promo codes and its lifecycle (the ``campaign-lifecycle`` workflow: plan → approved →
running → closed, whose actions set ``Campaign.status``).

A campaign never opens a draft of the program it is for: two managers' drafts would
fork (docs/workspace.md, "Campaigns"). Its rule lives in a program of its own
(``campaign-<slug>``), published from the campaign's first day; the rule pays only
while the campaign is running (:mod:`server.campaigns.window`), so composing pays
nothing before the lifecycle launches it. The campaign's program carries the hold
rules of the program it is for, as they are when the campaign is composed, so its
bonus is held like that program's own accruals.

:func:`compose_campaign` commits the campaign and its program in one transaction; the
promo codes (:func:`server.partners.codes.generate_code`) and the lifecycle
(:func:`server.workflows.engine.start_workflow`) are their own commands and commit
after it, each with its audit entry. A failure there leaves the campaign and its program in
place and is reported to the caller (codes and the lifecycle can be added again).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.audit import notes
from server.audit.commands import record
from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.campaigns.templates import CAMPAIGN_TEMPLATES
from server.db.types import MONEY_LIMIT, to_money
from server.errors import CommandError
from server.extensions import db
from server.form_values import amount_text
from server.partners.models import CodeKind, Partner
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import version_document
from server.rules.money import parse_decimal
from server.rules.program import parse_program

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,60}$")
#: a campaign bonus is a share of the sale: more than all of it is a typing mistake
MAX_BONUS_RATE = Decimal(100)


@dataclass(frozen=True)
class NewCampaign:
    slug: str
    title: str
    kind: CampaignKind
    starts_on: date
    ends_on: date
    program_id: int
    regions: tuple[str, ...] = ()
    channels: tuple[str, ...] | None = None
    place: str | None = None
    budget: Decimal | None = None
    rate: Decimal | None = None
    #: partner ids taking part: promo codes (promo push) or the bonus scope (offline event)
    partner_ids: tuple[int, ...] = ()
    details: dict[str, str] = field(default_factory=dict)


#: rule templates that hold accruals: a campaign's program copies these from its program
HOLD_TEMPLATES = frozenset({"hold_large_sale", "hold_self_referral", "hold_velocity"})
#: a campaign's own program is named after the campaign
CAMPAIGN_PROGRAM_PREFIX = "campaign-"


def campaign_program_slug(campaign_slug: str) -> str:
    return f"{CAMPAIGN_PROGRAM_PREFIX}{campaign_slug}"


@dataclass
class ComposedCampaign:
    campaign: Campaign
    #: the campaign's own program's first version, published
    version: ProgramVersion
    codes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: the campaign's lifecycle workflow, if it started (its actions are the caller's
    #: to queue)
    lifecycle_id: int | None = None


def rule_key_of(slug: str) -> str:
    """The key of a campaign's bonus rule (stable across program versions)."""
    return f"campaign-{slug}"


class CampaignInvalid(CommandError):
    """The campaign's input has problems; :attr:`issues` maps each form field
    (``slug``, ``title``, ``ends_on``, ``place``, ``budget``, ``rate``, ``program_id``,
    ``partners``, …) to what is wrong with it, in words for a person."""

    def __init__(self, issues: Mapping[str, Any]) -> None:
        super().__init__(" ".join(str(message) for message in issues.values()))
        self.issues = dict(issues)


def campaign_issues(new: NewCampaign) -> dict[str, Any]:
    """Every problem of ``new``, by form field (empty: it can be composed).

    Reads the database (is the code taken, does the program have a version, do the
    partners exist) but writes nothing.
    """
    template = CAMPAIGN_TEMPLATES[new.kind]
    issues: dict[str, Any] = {}
    slug_issue = _slug_issue(new.slug)
    if slug_issue is not None:
        issues["slug"] = slug_issue
    if not new.title.strip():
        issues["title"] = _l("The campaign needs a title.")
    if new.starts_on > new.ends_on:
        issues["ends_on"] = _l("The campaign ends before it starts.")
    if template.needs_place and not (new.place or "").strip():
        issues["place"] = _l("An offline event needs a place.")
    if new.budget is not None:
        budget_issue = _budget_issue(new.budget)
        if budget_issue is not None:
            issues["budget"] = budget_issue
    if new.rate is not None and not 0 <= new.rate <= MAX_BONUS_RATE:
        issues["rate"] = _l("The bonus rate is a percentage from 0 to 100.")
    program_issue = _program_issue(new.program_id)
    if program_issue is not None:
        issues["program_id"] = program_issue
    if any(db.session.get(Partner, pid) is None for pid in new.partner_ids):
        issues["partners"] = _l("Unknown partner in the campaign.")
    return issues


def _slug_issue(slug: str) -> Any:
    """Why a campaign cannot have this code (``None``: it can)."""
    if not _SLUG.match(slug):
        return _l("The campaign code: lower-case Latin letters, digits and '-'.")
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.slug == slug)) is not None:
        return _l("Campaign %(slug)s already exists.", slug=slug)
    own = campaign_program_slug(slug)
    if db.session.scalar(sa.select(Program.id).where(Program.slug == own)) is not None:
        return _l("Program %(slug)s already exists: choose another campaign code.", slug=own)
    return None


def _program_issue(program_id: int) -> Any:
    """Why a campaign cannot be for this program (``None``: it can)."""
    if _base_version_or_none(program_id) is None:
        return _l("The program has no version to build on.")
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.rules_program_id == program_id)):
        return _l("This is a campaign's own program: choose the program it is for.")
    return None


def _budget_issue(budget: Decimal) -> Any:
    """Why a budget cannot be set (``None``: it can)."""
    if budget <= 0:
        return _l("The budget is a positive amount.")
    # compared as stored (in kopecks): 9999999999999999.995 rounds up to the limit
    if budget >= MONEY_LIMIT or to_money(budget) >= MONEY_LIMIT:
        return _l("The budget is too large: at most 16 digits before the decimal point.")
    return None


def parse_amount(text: str | None) -> Decimal | None:
    """A money or rate field as ``Decimal`` (decimal comma accepted); ``None`` if empty.

    Raises ``CommandError`` for text that is not a finite number of money's size
    (``NaN`` and ``Infinity`` included: the rules engine's own reading decides).
    """
    if text is None or not text.strip():
        return None
    # a grouped number as the pages print it: "30 000,50 ₽" with (narrow) no-break spaces
    number = parse_decimal(amount_text(text))
    if number is None:
        raise CommandError(_l("%(text)s is not a number.", text=text))
    return number


def _base_version_or_none(program_id: int) -> ProgramVersion | None:
    """The program's latest draft or published version (what a campaign builds on)."""
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program_id,
            ProgramVersion.status != VersionStatus.archived,
        )
        .order_by(ProgramVersion.number.desc())
        .limit(1)
    )


def compose_campaign(new: NewCampaign, actor_id: int | None) -> ComposedCampaign:
    """Create the campaign, its own program with its bonus rule, its codes, its lifecycle.

    The campaign's program holds a ``campaign_bonus`` rule scoped to the campaign's
    period, regions and channels (and the chosen partners for an offline event), and
    the hold rules of the program the campaign is for. It is published from the
    campaign's first day and pays while the campaign is running. The program the
    campaign is for, and its drafts, are not touched.

    Raises:
        CampaignInvalid: invalid input (every problem, by field); nothing is stored.
        ProgramError: the resulting program does not validate; nothing is stored.
    """
    issues = campaign_issues(new)
    if issues:
        raise CampaignInvalid(issues)
    try:
        campaign, version = _store_campaign(new, actor_id)
    except BaseException:
        # the campaign row is flushed before the program is checked: never leave it
        # pending in the session (a re-rendered form would list it)
        db.session.rollback()
        raise
    template = CAMPAIGN_TEMPLATES[new.kind]
    partners = [p for p in (db.session.get(Partner, pid) for pid in new.partner_ids) if p]
    composed = ComposedCampaign(campaign, version)
    if template.issues_promo_codes:
        from server.partners.codes import NewCode, generate_code

        for partner in partners:
            try:
                code = generate_code(
                    NewCode(partner.id, CodeKind.promo, campaign_id=campaign.id), actor_id
                )
                composed.codes.append(code.code)
            except CommandError as error:
                composed.problems.append(str(error))
    from server.workflows.engine import start_workflow

    try:
        lifecycle = start_workflow("campaign", campaign.id, actor_id, key="campaign-lifecycle")
        composed.lifecycle_id = lifecycle.id
    except CommandError as error:
        composed.problems.append(str(error))
    return composed


def _store_campaign(new: NewCampaign, actor_id: int | None) -> tuple[Campaign, ProgramVersion]:
    """The campaign row and its own program, published, committed together."""
    template = CAMPAIGN_TEMPLATES[new.kind]
    channels = template.channels if new.channels is None else new.channels
    partners = [db.session.get(Partner, pid) for pid in new.partner_ids]
    campaign = Campaign(
        slug=new.slug,
        title=new.title.strip(),
        kind=new.kind,
        status=CampaignStatus.plan,
        starts_on=new.starts_on,
        ends_on=new.ends_on,
        regions=list(new.regions),
        channels=list(channels),
        place=(new.place or "").strip() or None,
        budget=new.budget,
        details={**new.details, "partners": [p.code for p in partners if p is not None]},
        program_id=new.program_id,
    )
    db.session.add(campaign)
    db.session.flush()
    scope: dict[str, object] = {
        "valid_from": new.starts_on.isoformat(),
        "valid_to": new.ends_on.isoformat(),
    }
    if new.regions:
        scope["regions"] = list(new.regions)
    if channels:
        scope["channels"] = list(channels)
    if template.partners_in_scope and partners:
        scope["partners"] = [p.code for p in partners if p is not None]
    rate = new.rate if new.rate is not None else template.default_rate
    rule = {
        "id": rule_key_of(new.slug),
        "template": "campaign_bonus",
        "scope": scope,
        # a rate of 0 is a rate (a promo push may track codes without a bonus)
        "params": {"campaign": campaign.title, "rate": f"{rate:f}"},
    }
    base = _base_version_or_none(new.program_id)
    assert base is not None  # campaign_issues checked it
    document = version_document(base)
    holds = [r for r in document["rules"] if r["template"] in HOLD_TEMPLATES]
    # the campaign pays only partners of its program: it takes the program's enrolment
    enrolment = {"enrolment": document["enrolment"]} if document.get("enrolment") else {}
    spec = parse_program(  # raises ProgramError before anything is committed
        {
            "program": campaign_program_slug(new.slug),
            "title": campaign.title,
            "currency": base.program.currency,
            **enrolment,
            "rules": [rule, *holds],
        }
    )
    from server.programs.commands import stage_program_version

    version = stage_program_version(
        spec,
        effective_from=new.starts_on,
        actor_id=actor_id,
        note=notes.note("campaign", slug=new.slug),
        campaigns={rule_key_of(new.slug): campaign.id},
    )
    campaign.rules_program_id = version.program_id
    record(actor_id, "campaign.compose", "campaign", campaign.id, None, campaign_snapshot(campaign))
    db.session.commit()
    return campaign, version


def campaign_snapshot(campaign: Campaign) -> dict[str, object]:
    """The campaign's fields for the audit log."""
    return {
        "slug": campaign.slug,
        "title": campaign.title,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "starts_on": campaign.starts_on.isoformat(),
        "ends_on": campaign.ends_on.isoformat(),
        "regions": list(campaign.regions or []),
        "channels": list(campaign.channels or []),
        "place": campaign.place,
        "budget": str(campaign.budget) if campaign.budget is not None else None,
    }


def update_budget(campaign_id: int, budget: Decimal | None, actor_id: int | None) -> Campaign:
    """Change a campaign's budget cap (``None`` removes it). Raises ``CommandError``."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise CommandError(_l("Unknown campaign."))
    issue = _budget_issue(budget) if budget is not None else None
    if issue is not None:
        raise CommandError(issue)
    before = campaign_snapshot(campaign)
    campaign.budget = budget
    record(
        actor_id, "campaign.budget", "campaign", campaign.id, before, campaign_snapshot(campaign)
    )
    db.session.commit()
    return campaign
