"""Partners, regions, regional terms and attribution codes."""

from __future__ import annotations

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from server.partners.models import Partner, Region, RegionalTerms
from server.views.codes import AttributionCodeView


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
    }
