"""The ONE resumable sample store: finished records appended to a JSONL file as they finish (durably, a torn last
line cut off after a crash), guarded by the settings they were made with, so that a run resumes only what the same
settings would have produced. Used by ``trl-grm score --output``, rejective sampling / Meta RM data and the
evaluation cache.

Two guards: a folder holds ``samples.jsonl`` beside ``settings.json`` (:meth:`SampleStore.in_folder`); a single
output file carries a hash of the settings in every record (:meth:`SampleStore.in_file`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .hashing import fingerprint
from .jsonl import SettingsMismatch, append_records, check_run_settings, read_finished

SAMPLES_FILE = "samples.jsonl"
SETTINGS_FILE = "settings.json"
SETTINGS_HASH_KEY = "settings_hash"


class SampleStore:
    """Finished records of a resumable run and the settings that made them.

    Use :meth:`in_folder` or :meth:`in_file`; :meth:`open` checks the guard and returns the finished records,
    :meth:`append` adds records durably.
    """

    def __init__(self, path: str | os.PathLike, settings: dict[str, Any], settings_path: str | None = None):
        self.path = str(path)
        self.settings = settings
        self.settings_path = settings_path
        self.settings_hash = fingerprint(settings)

    @classmethod
    def in_folder(cls, directory: str | os.PathLike, settings: dict[str, Any]) -> SampleStore:
        """``directory/samples.jsonl`` guarded by ``directory/settings.json``."""
        directory = str(directory)
        return cls(os.path.join(directory, SAMPLES_FILE), settings, os.path.join(directory, SETTINGS_FILE))

    @classmethod
    def in_file(cls, path: str | os.PathLike, settings: dict[str, Any]) -> SampleStore:
        """One JSONL file whose every record carries ``settings_hash``."""
        return cls(path, settings)

    def open(self) -> list[dict[str, Any]]:
        """The finished records; :class:`SettingsMismatch` (a ``ValueError``) naming the difference when they were
        made with other settings."""
        if self.settings_path is not None:
            check_run_settings(
                os.path.dirname(self.settings_path), self.settings, os.path.basename(self.settings_path)
            )
            return read_finished(self.path)
        records = self.records()
        self.check(records)
        return records

    def records(self) -> list[dict[str, Any]]:
        """The finished records, unchecked (a single-file store: check them with :meth:`check`)."""
        return read_finished(self.path)

    def check(self, records: list[dict[str, Any]]) -> None:
        """A single-file store's guard: every record carries this store's settings hash."""
        if any(r.get(SETTINGS_HASH_KEY) != self.settings_hash for r in records):
            raise SettingsMismatch(
                f"{self.path} holds results made with other settings (model, seed or sampling options); use the same "
                "settings to resume, or another output"
            )

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Append finished records durably (a single-file store stamps each with the settings hash, where it is not
        there already)."""
        if self.settings_path is None:
            records = [{**r, SETTINGS_HASH_KEY: self.settings_hash} for r in records]
        append_records(self.path, records)

    def clear(self) -> None:
        """Start afresh: remove the records and the settings guard."""
        for path in (self.path, self.settings_path):
            if path and os.path.exists(path):
                os.remove(path)
