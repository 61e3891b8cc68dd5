"""``create_program``: a program and its first draft in one audited transaction, empty,
a copy of another program's latest version or a starter program; refused with the
field at fault for a duplicate or malformed code, another currency or an unknown start."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.campaigns.models import Campaign, CampaignKind
from server.extensions import db
from server.programs import commands as program_commands
from server.programs.commands import NewProgram, NewProgramError, create_program
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import version_document, version_spec
from server.programs.starters import PROGRAM_STARTERS
from tests.integration.workspace.helpers import load_basic, manager


def _count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_an_empty_program_gets_its_first_draft_and_audit_entries(app_ctx: Flask) -> None:
    actor = manager()
    draft = create_program(NewProgram(title="Сеть магазинов 2026", slug=""), actor)
    program = draft.program
    assert (program.slug, program.title, program.currency) == (
        "set-magazinov-2026",
        "Сеть магазинов 2026",
        "RUB",
    )
    assert (draft.number, draft.status, draft.rules) == (1, VersionStatus.draft, [])
    actions = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor_id).order_by(AuditEntry.id)
    ).all()
    assert actions == [("program.create", actor), ("program_version.create", actor)]


@pytest.mark.parametrize("key", sorted(PROGRAM_STARTERS))
def test_each_starter_gives_a_valid_draft_that_publishes(app_ctx: Flask, key: str) -> None:
    draft = create_program(
        NewProgram(title="Старт", slug=f"start-{key}", start="starter", starter=key), None
    )
    spec = version_spec(draft)
    starter_rules = PROGRAM_STARTERS[key].program(f"start-{key}", "Старт", "RUB").rules
    assert spec.rules == starter_rules
    comment = db.session.scalar(
        sa.select(AuditEntry.comment).where(AuditEntry.action == "program_version.create")
    )
    assert comment == f"starter {key}"
    published = program_commands.publish_version(draft.id, date(2026, 12, 1), None)
    assert published.status is VersionStatus.published


def test_a_copy_takes_the_latest_version_s_rules_without_history_or_campaigns(
    app_ctx: Flask,
) -> None:
    v1 = load_basic()
    # a discarded draft is not the latest version (one open draft at a time: it goes
    # before the next is opened)
    discarded = program_commands.new_draft(v1.id, None)
    program_commands.archive_draft(discarded.id, None)
    v3 = program_commands.new_draft(v1.id, None)
    program_commands.delete_rule(v3.id, "display", None)
    campaign = Campaign(
        slug="spring",
        title="Весна",
        kind=CampaignKind.seasonal,
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 3, 31),
        program_id=v1.program_id,
    )
    db.session.add(campaign)
    db.session.flush()
    v3.rules[0].campaign_id = campaign.id
    campaign_rule = v3.rules[0].rule_key
    db.session.commit()

    copy = create_program(
        NewProgram(title="Копия", slug="copy-2027", start="copy", copy_of="example-2026"), None
    )
    expected = [rule for rule in version_document(v3)["rules"] if rule["id"] != campaign_rule]
    assert version_document(copy)["rules"] == expected
    assert "display" not in [rule["id"] for rule in expected]
    assert [r.campaign_id for r in copy.rules] == [None] * len(expected)
    assert [(v.number, v.status) for v in copy.program.versions] == [(1, VersionStatus.draft)]
    assert copy.note == "copy of example-2026 v3"
    # the source is untouched
    assert [v.number for v in db.session.get(Program, v1.program_id).versions] == [1, 2, 3]


@pytest.mark.parametrize(
    ("new", "field", "reason"),
    [
        (NewProgram(title="  "), "title", "Введите название программы."),
        (NewProgram(title="Т" * 301), "title", "Название слишком длинное"),
        (NewProgram(title="X", slug="Stores 2026"), "slug", "строчных латинских букв"),
        (NewProgram(title="!!!"), "slug", "строчных латинских букв"),
        (
            NewProgram(title="X", slug="example-2026"),
            "slug",
            "Программа с кодом example-2026 уже есть",
        ),
        (NewProgram(title="X", currency="рубли"), "currency", "трёхбуквенный код"),
        (NewProgram(title="X", currency="EUR"), "currency", "платят в RUB"),
        (
            NewProgram(title="X", start="starter", starter="nope"),
            "start",
            "одну из готовых программ",
        ),
        (NewProgram(title="X", start="copy", copy_of="nope"), "start", "с хотя бы одной версией"),
        (NewProgram(title="X", start="clone"), "start", "с чего начать программу"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    app_ctx: Flask, new: NewProgram, field: str, reason: str
) -> None:
    load_basic()
    before = (_count(Program), _count(ProgramVersion), _count(AuditEntry))
    with pytest.raises(NewProgramError) as refused:
        create_program(new, None)
    assert refused.value.field == field
    assert reason in str(refused.value)
    assert (_count(Program), _count(ProgramVersion), _count(AuditEntry)) == before


def test_the_first_program_may_choose_its_currency(app_ctx: Flask) -> None:
    draft = create_program(NewProgram(title="Euro", currency="eur"), None)
    assert draft.program.currency == "EUR"
    with pytest.raises(NewProgramError, match="платят в EUR"):
        create_program(NewProgram(title="Roubles", currency="RUB"), None)


def test_a_code_taken_while_creating_is_refused_not_joined(app_ctx: Flask) -> None:
    """Another manager's program with the same code is committed after the check and
    before the insert: the unique code refuses ours, and no draft joins theirs."""
    session = db.session()
    taken: list[bool] = []

    def take_the_code(*_args: object) -> None:
        if taken:
            return
        taken.append(True)
        with db.engine.begin() as other:
            other.execute(
                sa.insert(Program).values(slug="race-2027", title="Другая", currency="RUB")
            )

    sa.event.listen(session, "before_flush", take_the_code)
    try:
        with pytest.raises(NewProgramError) as refused:
            create_program(NewProgram(title="Гонка", slug="race-2027"), None)
    finally:
        sa.event.remove(session, "before_flush", take_the_code)
    assert refused.value.field == "slug"
    assert "Программа с кодом race-2027 уже есть" in str(refused.value)
    program = db.session.scalars(sa.select(Program)).one()
    assert (program.title, program.versions) == ("Другая", [])
    assert _count(AuditEntry) == 0
