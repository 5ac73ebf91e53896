"""Serve front-end files that ship inside Python packages (no CDN, nothing vendored twice)."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage


def _plotly_dir() -> str:
    import plotly

    return os.path.join(os.path.dirname(plotly.__file__), "package_data")


# static path -> (directory, file name)
PACKAGE_FILES = {"vendor/plotly.min.js": (_plotly_dir, "plotly.min.js")}


class PackageFileFinder(BaseFinder):
    """Finds the files listed in PACKAGE_FILES, e.g. plotly.js from the plotly wheel."""

    def check(self, **kwargs: Any) -> list:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        entry = PACKAGE_FILES.get(path)
        if entry is None:
            return [] if find_all else None
        full = os.path.join(entry[0](), entry[1])
        return [full] if find_all else full

    def list(self, ignore_patterns: Any) -> Any:
        for path, (directory, name) in PACKAGE_FILES.items():
            storage = FileSystemStorage(location=directory())
            storage.prefix = os.path.dirname(path)
            yield name, storage
