"""The audit log, read-only: filter by who, when, action, entity and comment."""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from server.audit.models import AuditEntry
from server.labels import actor_label, audit_action, audit_subject, system_note


class AuditEntryView(ModelView):
    datamodel = SQLAInterface(AuditEntry)
    base_permissions = ["can_list", "can_show"]
    base_order = ("at", "desc")
    page_size = 50
    list_columns = ["at", "actor_name", "action", "entity_type", "entity_id", "comment"]
    show_columns = [
        "at",
        "actor_name",
        "action",
        "entity_type",
        "entity_id",
        "comment",
        "before",
        "after",
    ]
    # the stored keys stay filterable; the cells read as words
    formatters_columns = {
        "action": audit_action,
        "entity_type": audit_subject,
        "comment": system_note,
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
    }
