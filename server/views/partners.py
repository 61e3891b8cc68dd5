"""Partners, regions, regional terms and attribution codes."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from flask_appbuilder import ModelView
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import Field, Form, SelectField
from wtforms.fields import enum_coerce
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, ValidationError

from server.labels import VALUE_LABELS
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region, RegionalTerms
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
from server.views.codes import AttributionCodeView

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
    """A WTForms validator refusing a filled field that one check of
    :mod:`server.partners.validation` finds a problem with.

    An empty field passes: whether it may be empty is the column's business (FAB adds
    ``InputRequired`` or ``Optional`` after the validators given here). Blanks count as
    empty in an optional field; in a ``required`` one they are checked (and refused),
    since ``InputRequired`` lets them through.
    """

    required = False

    def problem(self, form: Form, value: str) -> FieldProblem | None:
        raise NotImplementedError

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if not isinstance(value, str) or not value or (not self.required and not value.strip()):
            return
        problem = self.problem(form, value)
        if problem is not None:
            raise ValidationError(str(PROBLEM_MESSAGES[problem]))


class ValueCheck(FieldCheck):
    """Checks the field's value alone."""

    def __init__(
        self, check: Callable[[str], FieldProblem | None], *, required: bool = False
    ) -> None:
        self.check = check
        self.required = required

    def problem(self, form: Form, value: str) -> FieldProblem | None:
        return self.check(value)


class BankAccountCheck(FieldCheck):
    """Checks an account number together with the form's BIK (for the control key)."""

    def __init__(self, check: Callable[[str, str | None], FieldProblem | None]) -> None:
        self.check = check

    def problem(self, form: Form, value: str) -> FieldProblem | None:
        bik = form["bik"].data if "bik" in form else None
        return self.check(value, bik.strip() if isinstance(bik, str) else None)


def enum_select(
    enum_class: type[enum.Enum], label: LazyString, default: enum.Enum | None = None
) -> UnboundField:
    """A required select over a ``str, Enum`` that refuses unknown values as a form error.

    FAB's own ``EnumField`` looks a posted value up with ``enum_class.__members__[value]``:
    a tampered value (``kind=nonsense``) raised KeyError, which WTForms does not catch,
    so the add form answered 500. WTForms' ``enum_coerce`` raises ValueError instead,
    which becomes the field's error.
    """
    return SelectField(
        label,
        coerce=enum_coerce(enum_class),
        choices=[
            SelectChoice(member.value, VALUE_LABELS.get(member.value, member.value))
            for member in enum_class
        ],
        default=default,
        validators=[InputRequired()],
        invalid_value_message=_l("Not a valid choice"),
        widget=Select2Widget(),
    )


#: the partner form's enum columns, replacing FAB's EnumField (see :func:`enum_select`)
PARTNER_ENUM_FIELDS = {
    "kind": enum_select(PartnerKind, _l("Kind")),
    "status": enum_select(PartnerStatus, _l("Status"), default=PartnerStatus.onboarding),
}
PARTNER_VALIDATORS: dict[str, list[Any]] = {
    "email": [ValueCheck(email_problem)],
    "phone": [ValueCheck(phone_problem)],
    "landing_url": [ValueCheck(landing_url_problem)],
    "inn": [ValueCheck(inn_problem)],
    "kpp": [ValueCheck(kpp_problem)],
    "ogrn": [ValueCheck(ogrn_problem)],
    "bik": [ValueCheck(bik_problem)],
    "settlement_account": [BankAccountCheck(settlement_account_problem)],
    "correspondent_account": [BankAccountCheck(correspondent_account_problem)],
}
REGION_VALIDATORS: dict[str, list[Any]] = {
    "timezone": [ValueCheck(time_zone_problem, required=True)]
}


def fresh_validators(validators: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """A copy of ``validators`` with new lists for one view instance.

    FAB appends its own validators (Length, InputRequired/Optional) to the very list it
    is given, once per form and per app: shared lists would grow with every app built.
    """
    return {column: list(items) for column, items in validators.items()}


class PartnerView(ModelView):
    datamodel = SQLAInterface(Partner)
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["code", "name", "kind", "region", "parent", "status"]
    search_columns = ["code", "name", "kind", "status", "region", "inn"]
    show_fieldsets = [
        (
            _l("Partner"),
            {
                "fields": [
                    "code",
                    "name",
                    "kind",
                    "status",
                    "region",
                    "parent",
                    "customer_ref",
                    "email",
                    "phone",
                    "landing_url",
                ]
            },
        ),
        (_l("Legal details"), {"fields": ["legal_name", "inn", "kpp", "ogrn", "legal_address"]}),
        (
            _l("Payout details"),
            {"fields": ["bank_name", "bik", "settlement_account", "correspondent_account"]},
        ),
    ]
    add_columns = edit_columns = [
        "code",
        "name",
        "kind",
        "status",
        "region",
        "parent",
        "customer_ref",
        "email",
        "phone",
        "landing_url",
        "legal_name",
        "inn",
        "kpp",
        "ogrn",
        "legal_address",
        "bank_name",
        "bik",
        "settlement_account",
        "correspondent_account",
    ]
    add_form_extra_fields = edit_form_extra_fields = PARTNER_ENUM_FIELDS
    related_views = [AttributionCodeView]
    label_columns = {
        "code": _l("Code"),
        "name": _l("Name"),
        "kind": _l("Kind"),
        "region": _l("Region"),
        "parent": _l("Recruited by"),
        "status": _l("Status"),
        "customer_ref": _l("Customer ref"),
        "legal_name": _l("Legal name"),
        "inn": _l("INN"),
        "kpp": _l("KPP"),
        "ogrn": _l("OGRN"),
        "legal_address": _l("Legal address"),
        "bank_name": _l("Bank"),
        "bik": _l("BIK"),
        "settlement_account": _l("Settlement account"),
        "correspondent_account": _l("Correspondent account"),
        "landing_url": _l("Landing page"),
        "email": _l("E-mail"),
        "phone": _l("Phone"),
    }

    def __init__(self, **kwargs: Any) -> None:
        self.validators_columns = fresh_validators(PARTNER_VALIDATORS)
        super().__init__(**kwargs)


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
        "contract_language": _l("Contract language"),
        "program_version": _l("Program version"),
        "created_at": _l("Created"),
    }


class RegionView(ModelView):
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
