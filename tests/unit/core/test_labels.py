"""Cells as users read them (server/labels.py): no Python reprs, no raw enum keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.labels import EMPTY, shown_value, value_label
from server.partners.models import PartnerKind


class Record:
    def __str__(self) -> str:
        return "A v1"


def test_empty_values_are_a_dash() -> None:
    empties: tuple[object, ...] = (None, "", [], {})
    assert [shown_value(v) for v in empties] == [EMPTY] * 4


def test_instants_to_the_minute_and_days_as_a_russian_reader_writes_them() -> None:
    # outside a request: the product's own language (the English screens keep ISO days,
    # tests/integration/app/test_i18n.py)
    assert shown_value(datetime(2026, 6, 1, 7, 31, 35, 123, tzinfo=UTC)) == "01.06.2026 07:31 UTC"
    assert shown_value(date(2026, 6, 1)) == "01.06.2026"


def test_a_relationships_records_by_their_names_not_their_reprs() -> None:
    # Flask-AppBuilder printed "[<server.partners.models.RegionalTerms object at 0x…>]"
    assert shown_value([Record(), Record()]) == "A v1, A v1"


def test_mappings_as_pairs_and_nested_lists_bracketed() -> None:
    # keys are named in words (outside a request, the English msgids); unknown ones as they are
    assert shown_value({"rate": "7"}) == "Rate, %: 7"
    assert shown_value({"regions": ["A", "B"], "channels": []}) == "Regions: A, B; Channels: —"
    assert shown_value({"no_such_key": "x"}) == "no_such_key: x"
    tiers = {"tiers": [{"from": 0, "rate": 3}, {"from": 100, "rate": 5}]}
    assert shown_value(tiers) == (
        "Tiers: (From (month-to-date sales): 0, Rate, %: 3), "
        "(From (month-to-date sales): 100, Rate, %: 5)"
    )


def test_a_mappings_stored_words_read_as_words() -> None:
    assert shown_value({"channels": ["online"]}) == f"Channels: {value_label('online')}"
    assert shown_value([[".*", ".*"], ["a", "b"]]) == "(.*, .*), (a, b)"


def test_enum_members_inside_lists_read_as_words() -> None:
    # outside a request the words are the English msgids
    assert shown_value([PartnerKind.offline_point]) == value_label(PartnerKind.offline_point)
    assert shown_value([PartnerKind.offline_point]) == "offline point"


def test_reasons_that_name_a_field_read_as_words() -> None:
    # outside a request: the English phrases (Russian on Russian pages)
    assert value_label("missing field: receipt") == "missing field: receipt"
    assert value_label("invalid region") == "invalid value of region"
    assert value_label("invalid amount") == "invalid amount"  # its own label wins
    assert value_label("something else") == "something else"


def test_audit_actions_read_as_subject_and_deed() -> None:
    from server.labels import audit_action, audit_subject

    assert audit_action("program_version.publish") == "program version: publishing"
    assert audit_action("partner.active") == "partner: active"  # a status reached
    assert audit_action("widget.frobnicate") == "widget: frobnicate"  # unknown: as stored
    assert audit_subject("contract_template") == "contract template"
    assert audit_action(None) == EMPTY


def test_document_languages_by_name() -> None:
    assert (value_label("ru"), value_label("en")) == ("Russian", "English")
    assert value_label("kk") == "kk" and value_label(None) == EMPTY
