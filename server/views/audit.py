"""The audit log, read-only: filter by who, when, action, entity and comment."""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from server.audit.models import AuditComment, AuditEntry
from server.i18n import current_language
from server.labels import actor_label, audit_action, audit_subject, system_note
from server.programs.queries import CHANGE_ACTIONS, deployment_currency, snapshot_changes


def comment_words(comment: AuditComment) -> object:
    """An entry's comment in the reader's language: a saved draft's changes are worded
    again from its snapshots; the system's notes are translated; people's words stay."""
    if comment.action in CHANGE_ACTIONS:
        changes = snapshot_changes(
            comment.before, comment.after, current_language(), deployment_currency()
        )
        if changes is not None:
            return "; ".join(changes)
    return system_note(comment.comment)


class AuditEntryView(ModelView):
    datamodel = SQLAInterface(AuditEntry)
    base_permissions = ["can_list", "can_show"]
    base_order = ("at", "desc")
    page_size = 50
    list_columns = ["at", "actor_name", "action", "entity_type", "entity_id", "comment_shown"]
    show_columns = [*list_columns, "before", "after"]
    # the stored keys stay filterable; the cells read as words
    formatters_columns = {
        "action": audit_action,
        "entity_type": audit_subject,
        "comment": system_note,
        "comment_shown": comment_words,
        "actor_name": actor_label,
    }
    # FAB offers "greater than"/"smaller than" on dates and "contains" on text.
    search_columns = ["at", "actor_name", "action", "entity_type", "entity_id", "comment"]
    label_columns = {
        "at": _l("When"),
        "actor_name": _l("Who"),
        "action": _l("Action"),
        "entity_type": _l("Entity"),
        "entity_id": _l("Id"),
        "before": _l("Before"),
        "after": _l("After"),
        "comment": _l("Comment"),
        "comment_shown": _l("Comment"),
    }
