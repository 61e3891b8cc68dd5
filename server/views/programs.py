"""Programs, their versions and rules, and campaigns (read views; the builder comes later)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from server.campaigns.models import Campaign
from server.i18n import format_money
from server.labels import system_note
from server.programs.models import Program, ProgramVersion, RuleInstance
from server.programs.queries import enrolment_in_words, rule_in_plain_words, rule_template_title


class _RuleRows(SQLAInterface):
    """Rule rows with two columns the model does not hold: the rule in plain words and
    its template's title, both in the user's language (:mod:`server.programs.queries`)."""

    COMPUTED: dict[str, Callable[[RuleInstance], str]] = {
        "in_plain_words": rule_in_plain_words,
        "template_title": rule_template_title,
    }

    def _get_attr_value(self, item: Any, col: str) -> Any:
        if col in self.COMPUTED:
            return self.COMPUTED[col](item)
        return super()._get_attr_value(item, col)


class RuleInstanceView(ModelView):
    datamodel = _RuleRows(RuleInstance)
    base_permissions = ["can_list", "can_show"]
    # no menu entry to take a title from (a version's page lists them in a tab)
    list_title = _l("Rules")
    show_title = _l("Rule")
    list_columns = ["position", "rule_key", "in_plain_words", "template_title"]
    show_columns = [
        "program_version",
        "position",
        "rule_key",
        "in_plain_words",
        "template_title",
        "template_key",
        "template_version",
        "params",
        "scope",
    ]
    base_order = ("position", "asc")
    # stored from 0; people count rules from 1
    formatters_columns = {"position": lambda position: position + 1}
    label_columns = {
        "position": "#",
        "rule_key": _l("Rule"),
        "in_plain_words": _l("In plain words"),
        "template_title": _l("Template"),
        "template_key": _l("Template key"),
        "params": _l("Parameters"),
        "scope": _l("Scope"),
        "program_version": _l("Program version"),
        "template_version": _l("Template version"),
    }


class ProgramVersionView(ModelView):
    datamodel = SQLAInterface(ProgramVersion)
    # Published versions are never edited; versioning commands arrive with the builder.
    base_permissions = ["can_list", "can_show"]
    list_columns = ["program", "number", "status", "effective_from", "effective_to", "published_at"]
    related_views = [RuleInstanceView]
    # the rules are the related tab, each in plain words (not "a-online (percent_of_sale)")
    show_columns = [*list_columns, "created_at", "note", "enrolment"]
    # a JSON column: searched as text it would match keys, not partners
    search_exclude_columns = ["enrolment"]
    formatters_columns = {"note": system_note, "enrolment": enrolment_in_words}
    label_columns = {
        "program": _l("Program"),
        "number": _l("Version"),
        "status": _l("Status"),
        "effective_from": _l("Effective from"),
        "effective_to": _l("Effective to"),
        "published_at": _l("Published"),
        "created_at": _l("Created"),
        "note": _l("Note"),
        "enrolment": _l("Who takes part"),
        "rules": _l("Rules"),
    }


class ProgramView(ModelView):
    datamodel = SQLAInterface(Program)
    base_permissions = ["can_list", "can_show"]
    list_columns = ["slug", "title", "currency", "created_at"]
    related_views = [ProgramVersionView]
    label_columns = {
        "slug": _l("Slug"),
        "title": _l("Title"),
        "currency": _l("Currency"),
        "created_at": _l("Created"),
        "versions": _l("Program versions"),
    }


class CampaignView(ModelView):
    datamodel = SQLAInterface(Campaign)
    base_permissions = ["can_list", "can_show"]
    list_columns = ["title", "kind", "status", "starts_on", "ends_on", "regions", "budget"]
    formatters_columns = {"budget": format_money}
    label_columns = {
        "title": _l("Title"),
        "kind": _l("Kind"),
        "status": _l("Status"),
        "starts_on": _l("Starts"),
        "ends_on": _l("Ends"),
        "regions": _l("Regions"),
        "budget": _l("Budget"),
        "slug": _l("Campaign code"),
        "channels": _l("Channels"),
        "place": _l("Place"),
        "details": _l("Details"),
        "running_since": _l("Running since"),
        "closed_at": _l("Closed"),
        "created_at": _l("Created"),
    }
