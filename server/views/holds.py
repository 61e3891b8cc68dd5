"""Hold review: held accruals still to decide, approved or rejected one by one or in bulk.

Routes: ``/holdreviewview/list/`` (undecided held accruals; list actions "approve" and
"reject" on the selected rows, CSRF-checked, with an optional comment) and
``/holdreviewview/show/<id>`` (the accrual, its event and a decision form, POSTed to
``/holdreviewview/decide/<id>``). Each decision runs one command of
:mod:`server.ledger.holds`; this module only maps requests to it.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length

from server.errors import CommandError
from server.extensions import db
from server.i18n import format_money
from server.ledger.holds import decide_holds, pending_filter
from server.ledger.models import Accrual, HoldDecision, HoldVerdict
from server.views.forms import actor_id, require_csrf

#: a comment longer than this is refused by the form (kept whole in the decision)
COMMENT_LENGTH = 2000


class UndecidedHoldFilter(BaseFilter):
    """Only held accruals a manager can still decide (not reversals, no decision)."""

    name = "Undecided hold"
    arg_name = "undecided"

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(pending_filter())


class DecisionForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_LENGTH)])
    approve = SubmitField(_l("Approve: pay it"))
    reject = SubmitField(_l("Reject: never pay it"))


class HoldReviewView(ModelView):
    datamodel = SQLAInterface(Accrual)
    base_permissions = ["can_list", "can_show", "can_decide"]
    base_filters = [["id", UndecidedHoldFilter, lambda: None]]
    base_order = ("occurred_at", "asc")
    list_title = _l("Held accruals to review")
    list_template = "ledger/holds_list.html"
    show_template = "ledger/hold_show.html"
    list_columns = [
        "occurred_at",
        "partner",
        "event",
        "event.amount",
        "event.customer",
        "rule_key",
        "kind",
        "amount",
        "points",
        "reason",
    ]
    search_columns = ["partner", "reason", "rule_key", "kind", "occurred_at"]
    formatters_columns = {"amount": format_money, "event.amount": format_money}
    label_columns = {
        "occurred_at": _l("Occurred"),
        "partner": _l("Partner"),
        "event": _l("Event"),
        "event.amount": _l("Sale amount"),
        "event.customer": _l("Customer"),
        "rule_key": _l("Rule"),
        "kind": _l("Kind"),
        "amount": _l("Amount"),
        "points": _l("Points"),
        "reason": _l("Hold rule"),
        "status": _l("Status"),
        "level": _l("Level"),
        "reward": _l("Reward"),
        "reverses": _l("Reverses sale"),
        "dedupe_key": _l("Key"),
        "created_at": _l("Created"),
    }

    @action(
        "approve",
        _l("Approve"),
        _l("Approve the selected accruals? They become payable; a decision is final."),
        "fa-check",
    )
    def approve(self, items: Any) -> ResponseReturnValue:
        return self._decide_selected(items, HoldVerdict.approve)

    @action(
        "reject",
        _l("Reject"),
        _l("Reject the selected accruals? They will never be paid; a decision is final."),
        "fa-times",
    )
    def reject(self, items: Any) -> ResponseReturnValue:
        return self._decide_selected(items, HoldVerdict.reject)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> ResponseReturnValue:
        return self._decision_page(self._accrual(pk), DecisionForm())

    @expose("/decide/<pk>", methods=["POST"])
    @has_access
    @permission_name("decide")
    def decide(self, pk: str) -> ResponseReturnValue:
        accrual = self._accrual(pk)
        form = DecisionForm()
        if not form.validate_on_submit():
            return self._decision_page(accrual, form), 400
        if not (form.approve.data or form.reject.data):
            abort(400)
        verdict = HoldVerdict.approve if form.approve.data else HoldVerdict.reject
        if self._run(verdict, [accrual.id], form.comment.data):
            return redirect(url_for(".list"))
        return redirect(url_for(".show", pk=accrual.id))

    def _decide_selected(self, items: Any, verdict: HoldVerdict) -> ResponseReturnValue:
        require_csrf()
        rows = items if isinstance(items, list) else [items]
        ids = [row.id for row in rows if row is not None]
        comment = request.form.get("comment", "")[:COMMENT_LENGTH]
        self._run(verdict, ids, comment)
        return redirect(url_for(".list"))

    def _run(self, verdict: HoldVerdict, ids: list[int], comment: str | None) -> bool:
        try:
            outcomes = decide_holds(ids, verdict, actor_id(), comment)
        except CommandError as error:
            flash(str(error), "danger")
            return False
        if verdict is HoldVerdict.approve:
            flash(_("Approved %(count)s held accruals.", count=len(outcomes)), "success")
        else:
            flash(_("Rejected %(count)s held accruals.", count=len(outcomes)), "success")
        return True

    def _accrual(self, pk: str) -> Accrual:
        try:
            accrual = db.session.get(Accrual, int(pk))
        except ValueError:
            accrual = None
        if accrual is None:
            abort(404)
        return accrual

    def _decision_page(self, accrual: Accrual, form: DecisionForm) -> str:
        decision = db.session.query(HoldDecision).filter_by(accrual_id=accrual.id).one_or_none()
        page: str = self.render_template(
            self.show_template,
            title=_("Held accrual %(id)s", id=accrual.id),
            accrual=accrual,
            event=accrual.event,
            decision=decision,
            form=form,
        )
        return page


__all__ = ["HoldReviewView"]
