"""The statement tests' set-up: files in the test's own folder, the seed templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from server.documents.templates import import_seed_templates


@pytest.fixture
def seed_templates(app: Flask, tmp_path: Path) -> None:
    """The app keeps its files under ``tmp_path / "files"`` and has the seed templates
    (the statement's among them)."""
    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        import_seed_templates()
