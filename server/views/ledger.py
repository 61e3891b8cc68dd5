"""Ledger screens, read-only: events, accruals (with CSV export) and intake rejections.

The ledger is append-only: no screen here adds, edits or deletes a row. The only way
to change what is payable from the browser is a hold decision (``server.views.holds``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, stream_with_context
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.extensions import db
from server.i18n import format_money
from server.labels import value_label
from server.ledger.models import Accrual, HoldDecision, IntakeRejection, SalesEvent
from server.partners.models import Partner
from server.programs.models import Program
from server.spreadsheet import UTF8_BOM, cell

#: rows fetched from the database at a time while a CSV export streams
CSV_CHUNK_ROWS = 1000


def pretty_json(value: Any) -> str:
    """Indented JSON for a ``<pre>`` block (the template escapes it)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


#: what an accrual says, on its row of the list and on its page
_ACCRUAL_FACTS = [
    "event",
    "partner",
    "program",
    "rule_key",
    "program_version_id",
    "kind",
    "amount",
    "points",
    "status",
    "reason",
    "level",
]


class AccrualView(ModelView):
    datamodel = SQLAInterface(Accrual)
    base_permissions = ["can_list", "can_show"]
    # newest sale first: programs write their lines in batches of their own, so the
    # order of ids is the order of the workers, not of the sales
    base_order = ("occurred_at", "desc")
    list_template = "ledger/accrual_list.html"
    list_columns = ["occurred_at", *_ACCRUAL_FACTS]
    show_columns = [
        "id",
        "occurred_at",
        "created_at",
        *_ACCRUAL_FACTS,
        "reward",
        "reverses",
        "reverses_accrual_id",
        "dedupe_key",
    ]
    search_columns = [
        "partner",
        "program",
        "rule_key",
        "program_version_id",
        "event",
        "kind",
        "status",
        "occurred_at",
    ]
    # Thousands of events would make a dropdown of every event on each list page: the
    # event filter is set from the event's page (``?_flt_0_event=<id>``), not picked.
    search_form_query_rel_fields = {"event": [["id", FilterEqual, 0]]}
    # a forfeit of before a rejection needed a reason says "rejected by manager"
    formatters_columns = {"amount": format_money, "reason": value_label}
    label_columns = {
        "id": _l("Id"),
        "occurred_at": _l("Occurred"),
        "created_at": _l("Recorded"),
        "event": _l("Event"),
        "partner": _l("Partner"),
        "program": _l("Program"),
        "rule_key": _l("Rule"),
        "program_version_id": _l("Program version"),
        "kind": _l("Kind"),
        "amount": _l("Amount"),
        "points": _l("Points"),
        "status": _l("Status"),
        "reason": _l("Reason"),
        "level": _l("Level"),
        "reward": _l("Reward"),
        "reverses": _l("Reverses sale"),
        "reverses_accrual_id": _l("Releases or reverses accrual"),
        "dedupe_key": _l("Key"),
    }

    @expose("/csv/")
    @has_access
    @permission_name("list")
    def csv(self) -> ResponseReturnValue:
        """The list as filtered on screen (same ``_flt_`` arguments), streamed as CSV."""
        get_filter_args(self._filters)
        filters = self._filters.get_joined_filters(self._base_filters)
        # FAB's filters (with the joins a relation filter adds) choose the ids; the rows
        # are read as plain columns, which is several times faster than loading objects
        chosen = self.datamodel.apply_filters(db.session.query(Accrual.id), filters)
        query = (
            sa.select(*CSV_COLUMNS)
            .select_from(Accrual)
            .outerjoin(Partner, Partner.id == Accrual.partner_id)
            .outerjoin(SalesEvent, SalesEvent.id == Accrual.event_id)
            .outerjoin(Program, Program.id == Accrual.program_id)
            .where(Accrual.id.in_(chosen.subquery().select()))
            .order_by(Accrual.id)
            .execution_options(yield_per=CSV_CHUNK_ROWS)
        )
        headers = [
            str(self.label_columns[name])
            for name in (
                "id",
                "occurred_at",
                "partner",
                "event",
                "rule_key",
                "program_version_id",
                "kind",
                "amount",
                "points",
                "status",
                "reason",
                "level",
                "reward",
                "reverses",
                "reverses_accrual_id",
                # last: columns before it keep their places for existing spreadsheets
                "program",
            )
        ]
        stamp = datetime.now().strftime("%Y%m%d-%H%M")
        return Response(
            stream_with_context(_csv_stream(headers, _read(query))),
            mimetype="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="accruals-{stamp}.csv"',
                "X-Content-Type-Options": "nosniff",
            },
        )


def _csv_stream(headers: list[str], rows: Any) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(headers)
    yield UTF8_BOM + flush()
    for count, row in enumerate(rows, start=1):
        writer.writerow(_csv_row(row))
        if count % CSV_CHUNK_ROWS == 0:
            yield flush()
    yield flush()


def _read(query: sa.Executable) -> Iterator[Any]:
    """The query's rows, read as the body is sent (not when the view returns)."""
    yield from db.session.execute(query)


#: what the export reads of an accrual, its partner and its event
CSV_COLUMNS = (
    Accrual.id,
    Accrual.occurred_at,
    Partner.code.label("partner_code"),
    SalesEvent.source,
    SalesEvent.external_id,
    Accrual.rule_key,
    Accrual.program_version_id,
    Accrual.kind,
    Accrual.amount,
    Accrual.points,
    Accrual.status,
    Accrual.reason,
    Accrual.level,
    Accrual.reward,
    Accrual.reverses,
    Accrual.reverses_accrual_id,
    Program.title.label("program_title"),
)


def _csv_row(row: Any) -> list[str]:
    """One export line from a row of :data:`CSV_COLUMNS` (read by name)."""
    return [
        str(row.id),
        row.occurred_at.isoformat() if row.occurred_at else "",
        cell(row.partner_code or ""),
        cell(f"{row.source}/{row.external_id}" if row.external_id is not None else ""),
        cell(row.rule_key),
        "" if row.program_version_id is None else str(row.program_version_id),
        row.kind.value,
        f"{row.amount:.2f}",
        str(row.points),
        row.status.value,
        cell(row.reason),
        "" if row.level is None else str(row.level),
        cell(row.reward),
        cell(row.reverses),
        "" if row.reverses_accrual_id is None else str(row.reverses_accrual_id),
        cell(row.program_title or ""),
    ]


class SalesEventView(ModelView):
    datamodel = SQLAInterface(SalesEvent)
    base_permissions = ["can_list", "can_show"]
    base_order = ("occurred_at", "desc")
    show_template = "ledger/event_show.html"
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
    show_columns = [
        "occurred_at",
        "received_at",
        "processed_at",
        "source",
        "external_id",
        "type",
        "partner",
        "channel",
        "region_code",
        "amount",
        "currency",
        "customer",
        "category",
        "refers_to",
        "status",
        "rejection_reason",
        "merged_into_id",
    ]
    search_columns = ["source", "external_id", "type", "partner", "status", "customer"]
    # channel and reason are stored as the API's words; shown in the user's language
    formatters_columns = {
        "amount": format_money,
        "channel": value_label,
        "rejection_reason": value_label,
    }
    label_columns = {
        "occurred_at": _l("Occurred"),
        "received_at": _l("Received"),
        "processed_at": _l("Processed"),
        "source": _l("Source"),
        "external_id": _l("Event id"),
        "type": _l("Type"),
        "partner": _l("Partner"),
        "channel": _l("Channel"),
        "region_code": _l("Region"),
        "amount": _l("Amount"),
        "currency": _l("Currency"),
        "customer": _l("Customer"),
        "category": _l("Category"),
        "refers_to": _l("Refers to"),
        "status": _l("Status"),
        "rejection_reason": _l("Rejection reason"),
        "merged_into_id": _l("Merged into event"),
        "payload": _l("Payload"),
    }

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> ResponseReturnValue:
        widgets = self._show(pk)
        event = db.get_or_404(SalesEvent, int(pk))
        decisions = {
            decision.accrual_id: decision
            for decision in db.session.query(HoldDecision).filter(
                HoldDecision.accrual_id.in_([row.id for row in event.accruals])
            )
        }
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            event=event,
            attribution=_attribution(event.payload),
            payload_json=pretty_json(event.payload),
            accruals=event.accruals,
            decisions=decisions,
        )


def _attribution(payload: Any) -> list[tuple[str, str]]:
    """The attribution fields the sender gave (partner, QR token, promo code, referral)."""
    if not isinstance(payload, dict):
        return []
    labels = {
        "partner": _("Partner"),
        "qr_token": _("QR token"),
        "promo_code": _("Promo code"),
        "referral": _("Referral link"),
    }
    return [
        (label, str(payload[field]))
        for field, label in labels.items()
        if isinstance(payload.get(field), str | int)
    ]


class IntakeRejectionView(ModelView):
    datamodel = SQLAInterface(IntakeRejection)
    base_permissions = ["can_list", "can_show"]
    base_order = ("received_at", "desc")
    show_template = "ledger/rejection_show.html"
    list_columns = ["received_at", "source", "external_id", "line", "reason"]
    show_columns = ["received_at", "source", "external_id", "line", "reason"]
    search_columns = ["source", "external_id", "reason", "received_at"]
    label_columns = {
        "received_at": _l("Received"),
        "source": _l("Source"),
        "external_id": _l("Event id"),
        "line": _l("Line"),
        "reason": _l("Reason"),
        "payload": _l("Payload"),
    }

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> ResponseReturnValue:
        widgets = self._show(pk)
        rejection = db.get_or_404(IntakeRejection, int(pk))
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            payload_json=pretty_json(rejection.payload),
        )


__all__ = ["AccrualView", "IntakeRejectionView", "SalesEventView"]
