"""Paths that are never read, whatever the configuration or the caller says: system folders whose
files lie about their size or never end, and files that commonly hold secrets. A caller steered by
a prompt injection can name any path, so these hold for files named explicitly too. Names are
matched without regard to case (`.ENV`, `ID_RSA` and `.GIT/config` are the same secrets, and on
case-insensitive file systems the same files)."""

from __future__ import annotations

from pathlib import Path

from ragate.retrieval.globs import glob_match

SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")

SECRET_GLOBS = (  # lower case: paths are matched lowered
    "**/.env*",
    "**/.git/**",
    "**/.git-credentials",
    "**/.ssh/**",
    "**/.aws/**",
    "**/.azure/**",
    "**/.gnupg/**",
    "**/.docker/config.json",
    "**/.kube/**",
    "**/.config/gh/hosts.yml",
    "**/.config/gcloud/**",
    "**/application_default_credentials.json",
    "**/.vault-token",
    "**/.netrc",
    "**/.npmrc",
    "**/.pypirc",
    "**/.pgpass",
    "**/.my.cnf",
    "**/.s3cfg",
    "**/.boto",
    "**/.htpasswd",
    "**/*.tfstate",
    "**/*.tfstate.backup",
    "**/.*history",
    "**/credentials*",
    "**/id_*",
    "**/*.pem",
    "**/*.key",
    "**/*.p12",
    "**/*.pfx",
    "**/*.keystore",
    "**/*.jks",
)


def system_folder(real: Path) -> str | None:
    """The system folder holding this resolved path, if any."""
    posix = real.as_posix()
    return next((d for d in SYSTEM_FOLDERS if posix == d or posix.startswith(d + "/")), None)


def secret_glob(path: str) -> str | None:
    """The secret-file pattern this POSIX path matches (in any case), if any."""
    lowered = path.lower()
    return next((g for g in SECRET_GLOBS if glob_match(lowered, g)), None)
