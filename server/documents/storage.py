"""Stored files: contract PDFs and signed scans, statement PDFs.

One folder (``FILES_DIR``), one writer that never leaves half a file behind, one check
on the way out. Paths stored in the database are relative to the folder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app

from server.errors import CommandError


class StoredFileError(CommandError):
    """A stored file is not there yet, is outside the files folder, or was altered."""


def files_dir() -> Path:
    """The folder every stored file lives under."""
    return Path(current_app.config["FILES_DIR"])


def write_once(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` atomically (a temporary file, then a rename).

    Raises:
        OSError: the disk is full or read-only; the temporary file is removed first, so
            a failed write leaves nothing behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    temporary = folder / f".{name}.{os.getpid()}.tmp"
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return target


def stored_file(relative: str | None, expected_sha256: str | None = None) -> Path:
    """The absolute path of a stored file, checked.

    Raises:
        StoredFileError: no file yet, a path outside the files folder, or (with
            ``expected_sha256``) content that no longer matches its hash.
    """
    if not relative:
        raise StoredFileError("The file has not been stored yet.")
    root = files_dir().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise StoredFileError("The stored file is missing.")
    actual = hashlib.sha256(path.read_bytes()).hexdigest() if expected_sha256 else None
    if actual != expected_sha256:
        raise StoredFileError("The stored PDF does not match its SHA-256: it was altered.")
    return path
