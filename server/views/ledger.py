"""Events and accruals, read-only: the ledger is append-only."""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from server.i18n import format_money
from server.ledger.models import Accrual, SalesEvent


class AccrualView(ModelView):
    datamodel = SQLAInterface(Accrual)
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_columns = [
        "occurred_at",
        "event",
        "partner",
        "rule_key",
        "kind",
        "amount",
        "points",
        "status",
        "reason",
        "level",
    ]
    search_columns = ["partner", "rule_key", "kind", "status"]
    formatters_columns = {"amount": format_money}
    label_columns = {
        "occurred_at": _l("Occurred"),
        "event": _l("Event"),
        "partner": _l("Partner"),
        "rule_key": _l("Rule"),
        "kind": _l("Kind"),
        "amount": _l("Amount"),
        "points": _l("Points"),
        "status": _l("Status"),
        "reason": _l("Reason"),
        "level": _l("Level"),
        "program_version": _l("Program version"),
    }


class SalesEventView(ModelView):
    datamodel = SQLAInterface(SalesEvent)
    base_permissions = ["can_list", "can_show"]
    base_order = ("occurred_at", "desc")
    list_columns = [
        "occurred_at",
        "source",
        "external_id",
        "type",
        "partner",
        "channel",
        "amount",
        "status",
        "rejection_reason",
    ]
    search_columns = ["source", "external_id", "type", "partner", "status", "customer"]
    formatters_columns = {"amount": format_money}
    related_views = [AccrualView]
    label_columns = {
        "occurred_at": _l("Occurred"),
        "source": _l("Source"),
        "external_id": _l("Event id"),
        "type": _l("Type"),
        "partner": _l("Partner"),
        "channel": _l("Channel"),
        "amount": _l("Amount"),
        "status": _l("Status"),
        "rejection_reason": _l("Rejection reason"),
        "payload": _l("Payload"),
    }
