"""Hold review: held accruals still to decide, approved or rejected one by one or in bulk.

Routes: ``/holdreviewview/list/`` (undecided held accruals; list actions "approve" and
"reject" on the selected rows, CSRF-checked, with a comment: a rejection needs one) and
``/holdreviewview/show/<id>`` (the accrual, its event and a decision form, POSTed to
``/holdreviewview/decide/<id>``; once decided, the decision, who made it and the
comment). Each decision runs one command of :mod:`server.ledger.holds`; this module only
maps requests to it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length

from server.errors import CommandError
from server.extensions import db
from server.i18n import format_money
from server.ledger.holds import ReasonRequiredError, decide_holds, pending_filter
from server.ledger.models import Accrual, HoldDecision, HoldVerdict
from server.programs.models import RuleInstance
from server.programs.queries import rule_in_plain_words, rule_template_title
from server.views.forms import actor_id

#: a comment longer than this is refused by the form (kept whole in the decision)
COMMENT_LENGTH = 2000


class UndecidedHoldFilter(BaseFilter):
    """Only held accruals a manager can still decide (not reversals, no decision)."""

    name = "Undecided hold"
    arg_name = "undecided"

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(pending_filter())


def rule_title(rule_key: str | None) -> str:
    """A rule id of the programs (``large-sale``) as its template's name; the id itself
    if no stored rule has it. The newest rule of that id names it."""
    if not rule_key:
        return ""
    rule = db.session.scalar(
        sa.select(RuleInstance)
        .where(RuleInstance.rule_key == rule_key)
        .order_by(RuleInstance.id.desc())
        .limit(1)
    )
    return rule_template_title(rule) if rule is not None else rule_key


class DecisionForm(FlaskForm):
    comment = TextAreaField(
        _l("Comment (required for a rejection: its reason)"),
        validators=[Length(max=COMMENT_LENGTH)],
    )
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
        "program",
        "event",
        "event.amount",
        "event.customer",
        "rule_key",
        "kind",
        "amount",
        "points",
        "reason",
    ]
    # the decision page (``show``) draws its own table: these are the fields it names
    show_columns = [*list_columns, "status"]
    search_columns = ["partner", "program", "reason", "rule_key", "kind", "occurred_at"]
    formatters_columns = {
        "amount": format_money,
        "event.amount": format_money,
        "rule_key": rule_title,
        "reason": rule_title,
    }
    label_columns = {
        "occurred_at": _l("Occurred"),
        "partner": _l("Partner"),
        "program": _l("Program"),
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
        try:
            self._run(verdict, [accrual.id], form.comment.data)
        except ReasonRequiredError as error:
            form.comment.errors = [str(error)]
            return self._decision_page(accrual, form), 400
        # the page now shows the decision and its comment; "Back" leads to the list
        return redirect(url_for(".show", pk=accrual.id))

    def _decide_selected(self, items: Any, verdict: HoldVerdict) -> ResponseReturnValue:
        rows = items if isinstance(items, list) else [items]
        ids = [row.id for row in rows if row is not None]
        comment = request.form.get("comment", "")[:COMMENT_LENGTH]
        try:
            self._run(verdict, ids, comment)
        except ReasonRequiredError as error:
            flash(str(error), "danger")
        return redirect(url_for(".list"))

    def _run(self, verdict: HoldVerdict, ids: list[int], comment: str | None) -> bool:
        """Decide and flash the outcome; a refusal is flashed too, except a missing
        reason (:class:`ReasonRequiredError`), which the caller shows by the comment."""
        try:
            outcomes = decide_holds(ids, verdict, actor_id(), comment)
        except ReasonRequiredError:
            raise
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
        decided_by = (
            db.session.get(User, decision.decided_by_id)
            if decision is not None and decision.decided_by_id is not None
            else None
        )
        rule = (
            db.session.get(RuleInstance, accrual.rule_instance_id)
            if accrual.rule_instance_id is not None
            else None
        )
        hold_rule = (
            db.session.scalar(
                sa.select(RuleInstance).where(
                    RuleInstance.program_version_id == accrual.program_version_id,
                    RuleInstance.rule_key == accrual.reason,
                )
            )
            if accrual.program_version_id is not None and accrual.reason
            else None
        )
        page: str = self.render_template(
            self.show_template,
            title=_("Held accrual %(id)s", id=accrual.id),
            accrual=accrual,
            rule=rule,
            hold_rule=hold_rule,
            rule_title=rule_template_title,
            rule_words=rule_in_plain_words,
            event=accrual.event,
            decision=decision,
            decided_by=decided_by.username if decided_by is not None else None,
            form=form,
        )
        return page


__all__ = ["HoldReviewView"]
