"""A new program's code is suggested from its title (Russian in Latin letters,
lowercase, hyphens) and checked against the pattern before a program is created."""

from __future__ import annotations

import pytest

from server.programs.slugs import (
    MAX_SLUG_LENGTH,
    SUGGESTED_LENGTH,
    TRANSLITERATION,
    is_valid_slug,
    suggest_slug,
)


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Сеть магазинов 2026", "set-magazinov-2026"),
        ("Амбассадоры: цели и бонусы!", "ambassadory-tseli-i-bonusy"),
        ("Щедрая осень — ёлки, чай, Юла", "shchedraya-osen-elki-chay-yula"),
        ("Подъезд и объявления", "podezd-i-obyavleniya"),
        ("Affiliates CPS 2026", "affiliates-cps-2026"),
        ("  --Жёлтый   Хит--  ", "zheltyy-khit"),
        ("Программа № 7", "programma-7"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_suggestion_transliterates_lowercases_and_joins_words_with_hyphens(
    title: str, slug: str
) -> None:
    assert suggest_slug(title) == slug


def test_every_russian_letter_has_a_latin_spelling() -> None:
    alphabet = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    assert set(TRANSLITERATION) == set(alphabet)
    assert all(
        set(latin) <= set("abcdefghijklmnopqrstuvwxyz") for latin in TRANSLITERATION.values()
    )
    assert suggest_slug(alphabet.upper()) == suggest_slug(alphabet)


def test_a_long_title_gives_a_shortened_valid_code() -> None:
    slug = suggest_slug("Большая сезонная программа для всех магазинов сети " * 3)
    assert len(slug) <= SUGGESTED_LENGTH
    assert is_valid_slug(slug) and not slug.endswith("-")


@pytest.mark.parametrize(
    "title",
    ["Сеть магазинов 2026", "Ёж — ёж", "a  b", "Ъ1ь", "Партнёры CPS (онлайн)", "x" * 200],
)
def test_every_non_empty_suggestion_is_a_valid_code(title: str) -> None:
    slug = suggest_slug(title)
    assert slug and is_valid_slug(slug)


@pytest.mark.parametrize("slug", ["stores-2026", "a", "2026", "web-2026-q1"])
def test_valid_codes(slug: str) -> None:
    assert is_valid_slug(slug)


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "Stores",
        "магазины",
        "stores 2026",
        "stores--2026",
        "-stores",
        "stores-",
        "stores_2026",
        "stores.2026",
        "a" * (MAX_SLUG_LENGTH + 1),
    ],
)
def test_invalid_codes(slug: str) -> None:
    assert not is_valid_slug(slug)
