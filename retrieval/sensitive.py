"""Paths that are never read, whatever the configuration or the caller says: system folders whose
files lie about their size or never end, and files that commonly hold secrets. A caller steered by
a prompt injection can name any path, so these hold for files named explicitly too."""

from __future__ import annotations

from pathlib import Path

from ragate.retrieval.globs import glob_match

SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")

SECRET_GLOBS = (
    "**/.env*",
    "**/.git/**",
    "**/.git-credentials",
    "**/.ssh/**",
    "**/.aws/**",
    "**/.gnupg/**",
    "**/.docker/config.json",
    "**/.kube/config",
    "**/.netrc",
    "**/.npmrc",
    "**/.pypirc",
    "**/.pgpass",
    "**/credentials*",
    "**/id_*",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
)


def system_folder(real: Path) -> str | None:
    """The system folder holding this resolved path, if any."""
    posix = real.as_posix()
    return next((d for d in SYSTEM_FOLDERS if posix == d or posix.startswith(d + "/")), None)


def secret_glob(path: str) -> str | None:
    """The secret-file pattern this POSIX path matches, if any."""
    return next((g for g in SECRET_GLOBS if glob_match(path, g)), None)
