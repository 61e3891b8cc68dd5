"""Offline sales import in the browser: upload, map columns, import, read the report."""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from server.errors import CommandError
from server.extensions import db
from server.labels import value_label
from server.ledger.imports import (
    FIELD_SYNONYMS,
    REQUIRED_FIELDS,
    decode,
    error_report_csv,
    guess_mapping,
    import_sales,
    read_rows,
    recent_imports,
    saved_mapping,
)
from server.ledger.models import SalesImport
from server.security.api_keys import SOURCE_PATTERN
from server.tasks.events import request_evaluation
from server.views.forms import csrf_token

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: rows of the file shown under the column mapping
PREVIEW_ROWS = 5


def _upload_dir() -> Path:
    path = Path(current_app.config["FILES_DIR"]) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


#: what each importable field means, for the column-matching step (the key is shown too)
#: the error report's columns as a person reads them (server.ledger.imports.ERROR_COLUMNS)
ERROR_HEADERS = (_l("Line"), _l("Column"), _l("Value"), _l("Reason"))
FIELD_LABELS = {
    "receipt": _l("receipt number"),
    "store": _l("store (its code or QR token)"),
    "occurred_at": _l("date and time"),
    "time": _l("time (if apart from the date)"),
    "amount": _l("amount"),
    "currency": _l("currency"),
    "customer": _l("customer (loyalty card)"),
    "category": _l("category"),
    "type": _l("operation (sale or refund)"),
    "refers_to": _l("receipt of the refunded sale"),
    "order_id": _l("order number"),
    "promo_code": _l("promo code"),
}


class SalesImportView(BaseView):
    """Upload a POS export, confirm the column mapping, see what went in and what not."""

    route_base = "/imports"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        return self.render_template(
            "imports/index.html", imports=recent_imports(), csrf_token=csrf_token()
        )

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self) -> ResponseReturnValue:
        source = request.form.get("source", "").strip()
        upload = request.files.get("file")
        if not SOURCE_PATTERN.match(source):
            flash(_("The source must be a short lowercase name, e.g. pos-msk."), "danger")
            return redirect(url_for(".index"))
        if upload is None or not upload.filename:
            flash(_("Choose a CSV file."), "danger")
            return redirect(url_for(".index"))
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            flash(_("The file is larger than 50 MB; split it."), "danger")
            return redirect(url_for(".index"))
        try:
            header, rows = read_rows(decode(data))
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".index"))
        token = secrets.token_hex(16)
        (_upload_dir() / f"{token}.csv").write_bytes(data)
        saved = saved_mapping(source)
        mapping = (saved.columns if saved else None) or guess_mapping(header)
        preview = [cells for _line, cells in itertools.islice(rows, PREVIEW_ROWS)]
        return self.render_template(
            "imports/mapping.html",
            token=token,
            source=source,
            filename=upload.filename,
            header=header,
            preview=preview,
            mapping=mapping,
            ignored=[column for column in header if column not in mapping.values()],
            fields=list(FIELD_SYNONYMS),
            field_labels=FIELD_LABELS,
            required=REQUIRED_FIELDS,
            timezone=saved.timezone if saved else "Europe/Moscow",
            csrf_token=csrf_token(),
        )

    @expose("/run/<token>", methods=["POST"])
    @has_access
    def run(self, token: str) -> ResponseReturnValue:
        if not token.isalnum():
            abort(404)
        path = _upload_dir() / f"{token}.csv"
        if not path.exists():
            abort(404)
        mapping = {name: request.form.get(f"map_{name}", "") for name in FIELD_SYNONYMS}
        try:
            report = import_sales(
                path.read_bytes(),
                source=request.form.get("source", ""),
                filename=request.form.get("filename", path.name),
                mapping=mapping,
                timezone=request.form.get("timezone") or None,
                currency=current_app.config["DEFAULT_CURRENCY"],
                actor_id=current_user.id,
            )
        except CommandError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".index"))
        path.unlink(missing_ok=True)
        if report.accepted:
            request_evaluation()
        flash(
            _(
                "%(total)s rows: %(accepted)s accepted, %(duplicates)s already imported, "
                "%(merged)s merged with online orders, %(rejected)s rejected",
                total=report.rows_total,
                accepted=report.accepted,
                duplicates=report.duplicates,
                merged=report.merged,
                rejected=report.rejected,
            ),
            "info",
        )
        return redirect(url_for(".show", import_id=report.import_id))

    @expose("/<int:import_id>")
    @has_access
    def show(self, import_id: int) -> ResponseReturnValue:
        record = db.get_or_404(SalesImport, import_id)
        return self.render_template("imports/show.html", record=record)

    @expose("/<int:import_id>/errors.csv")
    @has_access
    def errors(self, import_id: int) -> ResponseReturnValue:
        record = db.get_or_404(SalesImport, import_id)
        return Response(
            # a person's file: headers and reasons in the reader's language (the
            # command line's report keeps the contract's phrases, for scripts)
            error_report_csv(
                [{**error, "reason": value_label(error["reason"])} for error in record.errors],
                [str(header) for header in ERROR_HEADERS],
            ),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=import-{import_id}-errors.csv"},
        )
