"""Partners, regions, regional terms and attribution codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import Field, Form, StringField
from wtforms.validators import Optional, ValidationError

from server.campaigns.queries import campaigns_by_program
from server.extensions import db
from server.i18n import format_money
from server.labels import value_label
from server.partners.models import Partner, Region, RegionalTerms
from server.partners.tags import MAX_TAG_LENGTH, parse_tags
from server.partners.validation import (
    FieldProblem,
    bik_problem,
    correspondent_account_problem,
    email_problem,
    inn_problem,
    kpp_problem,
    landing_url_problem,
    ogrn_problem,
    phone_problem,
    settlement_account_problem,
    time_zone_problem,
)
from server.programs.queries import programs_of_partner
from server.views.codes import AttributionCodeView
from server.views.crud import NamedRowMessages
from server.workflows.catalogue import FIELD_TITLES

PROBLEM_MESSAGES: dict[FieldProblem, LazyString] = {
    FieldProblem.time_zone_unknown: _l(
        "Enter a time zone name from the IANA database, such as Europe/Moscow."
    ),
    FieldProblem.email_malformed: _l("Enter an e-mail address such as name@example.com."),
    FieldProblem.landing_url_unsafe: _l(
        "Enter a full web address starting with http:// or https://."
    ),
    FieldProblem.inn_malformed: _l(
        "An INN has 10 digits (organisation) or 12 digits (individual)."
    ),
    FieldProblem.inn_check_digits: _l("The INN's check digits do not match: look for a typo."),
    FieldProblem.kpp_malformed: _l(
        "A KPP has 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits."
    ),
    FieldProblem.ogrn_malformed: _l(
        "An OGRN has 13 digits (an individual entrepreneur's OGRNIP has 15)."
    ),
    FieldProblem.ogrn_check_digit: _l("The OGRN's check digit does not match: look for a typo."),
    FieldProblem.bik_malformed: _l("A BIK has 9 digits."),
    FieldProblem.account_malformed: _l("An account number has 20 digits."),
    FieldProblem.correspondent_account_prefix: _l("A correspondent account starts with 301."),
    FieldProblem.account_key_mismatch: _l(
        "The account number does not match the BIK: look for a typo in both."
    ),
    FieldProblem.phone_malformed: _l(
        "Enter a phone number: 7 to 20 digits, with an optional +, spaces, dashes and brackets."
    ),
}


class FieldCheck:
    """A WTForms validator refusing a filled field that ``check`` (one of
    :mod:`server.partners.validation`) finds a problem with.

    ``with_bik``: the check also takes the form's BIK (an account's control key).
    An empty field passes: whether it may be empty is the column's business (FAB adds
    ``InputRequired`` or ``Optional`` after the validators given here). Blanks count as
    empty in an optional field; in a ``required`` one they are checked (and refused),
    since ``InputRequired`` lets them through.
    """

    def __init__(
        self,
        check: Callable[..., FieldProblem | None],
        *,
        required: bool = False,
        with_bik: bool = False,
    ) -> None:
        self.check = check
        self.required = required
        self.with_bik = with_bik

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if not isinstance(value, str) or not value or (not self.required and not value.strip()):
            return
        if self.with_bik:
            bik = form["bik"].data if "bik" in form else None
            problem = self.check(value, bik.strip() if isinstance(bik, str) else None)
        else:
            problem = self.check(value)
        if problem is not None:
            raise ValidationError(str(PROBLEM_MESSAGES[problem]))


PARTNER_VALIDATORS: dict[str, list[Any]] = {
    "email": [FieldCheck(email_problem)],
    "phone": [FieldCheck(phone_problem)],
    "landing_url": [FieldCheck(landing_url_problem)],
    "inn": [FieldCheck(inn_problem)],
    "kpp": [FieldCheck(kpp_problem)],
    "ogrn": [FieldCheck(ogrn_problem)],
    "bik": [FieldCheck(bik_problem)],
    "settlement_account": [FieldCheck(settlement_account_problem, with_bik=True)],
    "correspondent_account": [FieldCheck(correspondent_account_problem, with_bik=True)],
}
REGION_VALIDATORS: dict[str, list[Any]] = {
    "timezone": [FieldCheck(time_zone_problem, required=True)]
}


def fresh_validators(validators: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A copy of ``validators`` with new lists for one view instance.

    FAB appends its own validators (Length, InputRequired/Optional) to the very list it
    is given, once per form and per app: shared lists would grow with every app built.
    """
    return {column: list(items) for column, items in validators.items()}


class TagsCheck:
    """Refuses a tag longer than :data:`~server.partners.validation.MAX_TAG_LENGTH`."""

    def __call__(self, form: Form, field: Field) -> None:
        try:
            parse_tags(field.data)
        except ValueError:
            raise ValidationError(
                str(_l("A tag has at most %(count)s characters.", count=MAX_TAG_LENGTH))
            ) from None


#: a partner's record in three parts, in the order its page and its form show them
_PARTNER_FIELDS = [
    "code",
    "name",
    "kind",
    "status",
    "region",
    "parent",
    "customer_ref",
    "tags_text",
    "email",
    "phone",
    "landing_url",
]
_LEGAL_FIELDS = ["legal_name", "inn", "kpp", "ogrn", "legal_address"]
_PAYOUT_FIELDS = ["bank_name", "bik", "settlement_account", "correspondent_account"]


class PartnerView(NamedRowMessages, ModelView):
    datamodel = SQLAInterface(Partner)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["code", "name", "kind", "region", "parent", "status"]
    search_columns = ["code", "name", "kind", "status", "region", "inn"]
    show_fieldsets = [
        (_l("Partner"), {"fields": _PARTNER_FIELDS}),
        (_l("Legal details"), {"fields": _LEGAL_FIELDS}),
        (_l("Payout details"), {"fields": _PAYOUT_FIELDS}),
    ]
    add_columns = edit_columns = [*_PARTNER_FIELDS, *_LEGAL_FIELDS, *_PAYOUT_FIELDS]
    related_views = [AttributionCodeView]
    show_template = "partners/partner_show.html"
    # the record's own fields are titled as the onboarding checklist titles them
    label_columns = {
        **FIELD_TITLES["partner"],
        "kind": _l("Kind"),
        "region": _l("Region"),
        "parent": _l("Recruited by"),
        "status": _l("Status"),
        "tags_text": _l("Tags"),
    }
    description_columns = {
        "tags_text": _l(
            "Segments the partner belongs to, comma-separated (e.g. pilot-msk, vip): "
            "programs enrol partners and rules apply by tag."
        )
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "tags_text": StringField(_l("Tags"), validators=[Optional(), TagsCheck()]),
    }

    def __init__(self, **kwargs: Any) -> None:
        self.validators_columns = fresh_validators(PARTNER_VALIDATORS)
        super().__init__(**kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> ResponseReturnValue:
        """The partner's record, with the programs it takes part in and since when
        (campaigns' own programs are the campaigns' business, not listed)."""
        partner = db.session.get(Partner, int(pk)) if str(pk).isdigit() else None
        if partner is None:
            abort(404)
        widgets = self._show(partner.id)
        return self.render_template(
            self.show_template,
            pk=partner.id,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            memberships=programs_of_partner(
                partner, date.today(), exclude=set(campaigns_by_program())
            ),
            today=date.today(),
        )


class RegionalTermsView(ModelView):
    """Read-only: a new version of terms comes from server.partners.terms.add_terms_version."""

    datamodel = SQLAInterface(RegionalTerms)
    base_permissions = ["can_list", "can_show"]
    list_columns = [
        "region",
        "version",
        "effective_from",
        "effective_to",
        "payment_terms_days",
        "minimum_payout",
        "contract_language",
    ]
    formatters_columns = {"minimum_payout": format_money, "contract_language": value_label}
    label_columns = {
        "region": _l("Region"),
        "version": _l("Version"),
        "effective_from": _l("Effective from"),
        "effective_to": _l("Effective to"),
        "payment_terms_days": _l("Payment terms, days"),
        "minimum_payout": _l("Minimum payout"),
        "exclusive_rights": _l("Exclusive rights"),
        "training_support": _l("Training support"),
        "marketing_support": _l("Marketing support"),
        "loyalty_and_events": _l("Loyalty and events"),
        "governing_law": _l("Governing law"),
        "court": _l("Court"),
        "contract_city": _l("City of the contract"),
        "contract_language": _l("Contract language"),
        "program_version": _l("Program version"),
        "created_at": _l("Created"),
    }


class RegionView(NamedRowMessages, ModelView):
    datamodel = SQLAInterface(Region)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["code", "name_ru", "name_en", "timezone"]
    related_views = [RegionalTermsView]
    label_columns = {
        "code": _l("Code"),
        "name_ru": _l("Name (ru)"),
        "name_en": _l("Name (en)"),
        "timezone": _l("Time zone"),
        "description": _l("Description"),
        "terms": _l("Regional terms"),
    }

    def __init__(self, **kwargs: Any) -> None:
        self.validators_columns = fresh_validators(REGION_VALIDATORS)
        super().__init__(**kwargs)
