"""Folders shipped with trl-grm (recipes, accelerate and model configs): inside the installed package when it comes
from a wheel (``trl_grm/recipes``, mapped from the checkout's top-level ``recipes/`` at build time), else the
checkout's own folder (an editable install or a source tree)."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def shipped_dir(name: str = "recipes") -> Path:
    """The shipped folder ``name``; an error (never another package's folder) when this installation lacks it."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise FileNotFoundError(
        f"trl-grm's {name}/ folder is missing from this installation (looked in {installed}); reinstall trl-grm"
    )


def shipped_file(*parts: str) -> Path | None:
    """A file under the shipped ``recipes/`` folder (e.g. ``shipped_file("accelerate_configs", "zero3.yaml")``), or
    ``None`` when it is not shipped."""
    path = shipped_dir().joinpath(*parts)
    return path if path.is_file() else None
