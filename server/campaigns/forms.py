"""The compose form of a campaign: posted text to a :class:`NewCampaign`.

Every field is read, and every problem collected, before anything is refused, so the
form comes back once with all its mistakes next to their fields: text that is not a
date or a number here, the rest from :func:`server.campaigns.commands.campaign_issues`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from server.campaigns.commands import (
    CampaignInvalid,
    NewCampaign,
    campaign_issues,
    parse_amount,
)
from server.campaigns.models import CampaignKind
from server.errors import CommandError
from server.form_values import form_date


def campaign_from_form(form: MultiDict[str, str]) -> NewCampaign:
    """The campaign the form describes.

    Raises:
        CampaignInvalid: every problem, by the name of its form field.
    """
    issues: dict[str, Any] = {}
    try:
        kind: CampaignKind | None = CampaignKind(form.get("kind") or "")
    except ValueError:
        kind = None
        issues["kind"] = _l("Choose a campaign template.")
    starts, ends = form_date(form.get("starts_on")), form_date(form.get("ends_on"))
    for name, value in (("starts_on", starts), ("ends_on", ends)):
        if value is None:
            issues[name] = _l("Choose the campaign's dates.")
    amounts = {}
    for name in ("budget", "rate"):
        try:
            amounts[name] = parse_amount(form.get(name))
        except CommandError as error:
            issues[name] = str(error)
            amounts[name] = None
    program = str(form.get("program_id") or "").strip()
    if not program.isdigit():
        issues["program_id"] = _l("Choose a program.")
    new = NewCampaign(
        slug=str(form.get("slug") or "").strip(),
        title=str(form.get("title") or ""),
        # a field that could not be read stands in as a value no check refuses, so the
        # checks below report only the other fields' problems
        kind=kind or CampaignKind.seasonal,
        starts_on=starts or date.min,
        ends_on=ends or date.max,
        program_id=int(program) if program.isdigit() else 0,
        regions=tuple(form.getlist("regions")),
        place=form.get("place") or None,
        budget=amounts["budget"],
        rate=amounts["rate"],
        partner_ids=tuple(int(p) for p in form.getlist("partners") if p.isdigit()),
    )
    for name, message in campaign_issues(new).items():
        issues.setdefault(name, message)
    if issues:
        raise CampaignInvalid(issues)
    return new
