"""The guards and actions a definition may use, with the parameters each takes.

This is the whole vocabulary managers compose workflows from; validation checks every
guard and action of a definition against it, and :mod:`server.workflows.guards` and
:mod:`server.workflows.actions` implement exactly these names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from server.campaigns.models import Campaign, CampaignStatus
from server.partners.models import CodeKind, Partner


class ParamKind(str, enum.Enum):
    #: a list of short names (``[passport, bank_details]``)
    names = "names"
    #: one short text
    text = "text"
    #: ``{ru: …, en: …}``
    localized = "localized"
    #: one value of :attr:`Param.choices`
    choice = "choice"


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    required: bool = False
    #: allowed values (``choice``; for ``names``, every item must be one of them)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    """One guard or action: where it applies, what it takes, what it means."""

    kind: str
    subjects: tuple[str, ...]
    params: tuple[Param, ...]
    description: object  # a lazy string

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


#: fields of each subject a ``field_filled`` guard may name (its own data columns)
SUBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "partner": tuple(
        column.name
        for column in Partner.__table__.columns
        if column.name not in ("id", "created_at", "status", "kind", "region_id", "parent_id")
    ),
    "campaign": tuple(
        column.name
        for column in Campaign.__table__.columns
        if column.name not in ("id", "created_at", "status")
    ),
}

GUARDS: dict[str, Vocabulary] = {
    vocabulary.kind: vocabulary
    for vocabulary in (
        Vocabulary(
            "documents_uploaded",
            ("partner", "campaign"),
            (Param("documents", ParamKind.names, required=True),),
            _l("the listed documents are uploaded"),
        ),
        Vocabulary(
            "contract_signed",
            ("partner",),
            (),
            _l("the partner's contract is signed"),
        ),
        Vocabulary(
            "training_completed",
            ("partner",),
            (Param("courses", ParamKind.names, required=True),),
            _l("the listed training courses are completed"),
        ),
        Vocabulary(
            "field_filled",
            ("partner", "campaign"),
            (Param("fields", ParamKind.names, required=True),),
            _l("the listed fields are filled"),
        ),
        Vocabulary(
            "manager_approval",
            ("partner", "campaign"),
            (Param("step", ParamKind.text),),
            _l("a manager approved this step"),
        ),
    )
}

ACTIONS: dict[str, Vocabulary] = {
    vocabulary.kind: vocabulary
    for vocabulary in (
        Vocabulary(
            "generate_contract",
            ("partner",),
            (),
            _l("generate the partner's contract"),
        ),
        Vocabulary(
            "assign_program",
            ("partner",),
            (Param("program", ParamKind.text),),
            _l("enrol the partner in a program (the regional terms' one unless named)"),
        ),
        Vocabulary(
            "issue_codes",
            ("partner",),
            (
                Param(
                    "kinds",
                    ParamKind.names,
                    required=True,
                    choices=tuple(kind.value for kind in CodeKind),
                ),
            ),
            _l("issue promo codes, QR codes or referral links"),
        ),
        Vocabulary("activate_partner", ("partner",), (), _l("activate the partner")),
        Vocabulary("suspend_partner", ("partner",), (), _l("suspend the partner")),
        Vocabulary(
            "notify_email",
            ("partner", "campaign"),
            (
                Param("to", ParamKind.choice, required=True, choices=("partner", "managers")),
                Param("subject", ParamKind.localized, required=True),
                Param("body", ParamKind.localized, required=True),
            ),
            _l("send an e-mail"),
        ),
        Vocabulary(
            "set_campaign_status",
            ("campaign",),
            (
                Param(
                    "status",
                    ParamKind.choice,
                    required=True,
                    choices=tuple(status.value for status in CampaignStatus),
                ),
            ),
            _l("set the campaign's status"),
        ),
    )
}

#: the parameter a guard's compact form (``field_filled(inn, kpp)``) fills in the editor
COMPACT_PARAM: dict[str, str] = {
    "documents_uploaded": "documents",
    "training_completed": "courses",
    "field_filled": "fields",
    "manager_approval": "step",
}

#: what the forms call the fields a ``field_filled`` guard may name (the partner's and
#: the campaign's form labels), so a checklist never shows a column name
FIELD_TITLES: dict[str, dict[str, LazyString]] = {
    "partner": {
        "code": _l("Code"),
        "name": _l("Name"),
        "customer_ref": _l("Customer ref"),
        "email": _l("E-mail"),
        "phone": _l("Phone"),
        "landing_url": _l("Landing page"),
        "legal_name": _l("Legal name"),
        "inn": _l("INN"),
        "kpp": _l("KPP"),
        "ogrn": _l("OGRN"),
        "legal_address": _l("Legal address"),
        "bank_name": _l("Bank"),
        "bik": _l("BIK"),
        "settlement_account": _l("Settlement account"),
        "correspondent_account": _l("Correspondent account"),
    },
    "campaign": {
        "slug": _l("Campaign code"),
        "title": _l("Title"),
        "kind": _l("Kind"),
        "starts_on": _l("Starts"),
        "ends_on": _l("Ends"),
        "channels": _l("Channels"),
        "place": _l("Place"),
        "budget": _l("Budget"),
        "details": _l("Details"),
        "program_id": _l("Program"),
        "running_since": _l("Running since"),
        "closed_at": _l("Closed"),
    },
}

#: documents the shipped workflows ask for, in words (a definition may name others:
#: they are shown by their name)
DOCUMENT_TITLES: dict[str, LazyString] = {
    "passport": _l("Passport"),
    "registration": _l("Registration certificate"),
    "store_photo": _l("Photo of the point of sale"),
    "tax_status": _l("Proof of tax status"),
    "event_plan": _l("Event plan"),
}

#: training courses the shipped workflows ask for, in words
COURSE_TITLES: dict[str, LazyString] = {
    "affiliate_basics": _l("Affiliate marketing basics"),
    "brand_ambassador": _l("Brand ambassador course"),
    "pos_training": _l("Selling at the point of sale"),
    "qr_display": _l("Displaying QR codes"),
    "regional_support": _l("Regional support"),
    "cofactor_events": _l("Joint events with cofactors"),
    "exclusive_products": _l("The exclusive product line"),
}

#: approval steps of the shipped workflows that are neither a state nor a transition
#: (those read as the state's or the transition's title)
STEP_TITLES: dict[str, LazyString] = {
    "joint_events": _l("Joint events"),
    "exclusive_territory": _l("Exclusive territory"),
    "budget": _l("Budget"),
}

#: the roles a transition may name, as people call them
ROLE_TITLES: dict[str, LazyString] = {
    "Admin": _l("administrator"),
    "Manager": _l("manager"),
    "Legal": _l("lawyer"),
    "Partner": _l("partner"),
    "Integration": _l("integration"),
}
