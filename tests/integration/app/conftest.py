"""The demo, loaded once per module and database, for the tests that walk the URL map."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import app_over


@pytest.fixture(scope="module")
def demo_app(migrated_database: dict[str, Any]) -> Iterator[Flask]:
    """An app over the demo data with CSRF protection ON (the other tests turn it off).

    Loading and emptying the demo takes seconds, so the crawls of a module share one
    load; they write nothing (that is what they check), and a test that does write
    creates and removes its own rows.
    """
    from server.demo.commands import load_demo

    with app_over(migrated_database, WTF_CSRF_ENABLED=True) as application:
        with application.app_context():
            load_demo()
        yield application
