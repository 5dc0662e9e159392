"""Settings as a process reads them: the config file in force (--config, RAGATE_CONFIG, ./config.toml,
the user's own, or none), RAGATE_<SECTION>_<KEY> variables over it, each error naming the key or
variable (an unknown one with the closest setting), and the paths a file names resolved from its
folder. The schema is server/config.py."""

from __future__ import annotations

import json
import os
import tomllib
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ragate.retrieval.errors import ConfigError
from ragate.server.config import Settings, index_path, user_dir

ENV_PREFIX = "RAGATE_"
# Variables under the prefix that are not settings: the test suite's own.
ENV_RESERVED = "RAGATE_TEST_"


def _wants_json(annotation: object) -> bool:
    """List, dict and model fields come from the environment as JSON; scalars as plain strings."""
    origin = typing.get_origin(annotation) or annotation
    return origin in (list, dict) or (isinstance(origin, type) and issubclass(origin, BaseModel))


def setting_vars() -> dict[str, tuple[str, str, typing.Any]]:
    """Each setting's environment variable → (section, key, field)."""
    return {
        f"{ENV_PREFIX}{section_name}_{key}".upper(): (section_name, key, field)
        for section_name, section_field in Settings.model_fields.items()
        for key, field in section_field.annotation.model_fields.items()
    }


def _check_unknown_vars(environ: typing.Mapping[str, str], known: typing.Collection[str], secrets: set[str]) -> None:
    """A RAGATE_ variable that names no setting is a typo that would be silently ignored: refuse it,
    naming the closest setting (variables a `*_env` setting names, and the test suite's, excepted)."""
    import difflib

    for var in environ:
        if (
            var.startswith(ENV_PREFIX)
            and var not in known
            and var not in secrets
            and var != CONFIG_VAR
            and not var.startswith(ENV_RESERVED)
        ):
            close = difflib.get_close_matches(var, list(known), n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else " (RAGATE_<SECTION>_<KEY>, config.toml lists every key)"
            raise ConfigError(f"{var[:100]}: no such setting{hint}")


def _env_overrides(environ: typing.Mapping[str, str]) -> dict[str, dict[str, object]]:
    overrides: dict[str, dict[str, object]] = {}
    for var, (section_name, key, field) in setting_vars().items():
        if var not in environ:
            continue
        raw = environ[var]
        if _wants_json(field.annotation):
            try:
                value: object = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ConfigError(f"{var}: expected JSON for [{section_name}] {key} ({e.msg})") from None
        else:
            value = raw
        overrides.setdefault(section_name, {})[key] = value
    return overrides


def _describe(err: ValidationError, origin: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        lines.append(f"{origin}: {key}: {e['msg']}" + (f" (got {e['input']!r})" if e["type"] != "extra_forbidden" else ""))
    return "; ".join(lines)


CONFIG_VAR = "RAGATE_CONFIG"  # the config file, for a client that can set variables more easily than arguments


def config_in_force(flag: str | None, environ: typing.Mapping[str, str] = os.environ) -> tuple[Path | None, str]:
    """The config file load_settings reads, and how it was chosen: --config, else RAGATE_CONFIG,
    else config.toml in the working directory, else the user's own (one per user, like the
    index: the same from every folder), else none (built-in defaults)."""
    if flag:
        return Path(flag), "--config"
    if named := environ.get(CONFIG_VAR):
        return Path(named), CONFIG_VAR
    here = Path("config.toml")
    if here.is_file():
        return here, "config.toml in the working directory"
    mine = user_dir("config", environ) / "config.toml"
    if mine.is_file():
        return mine, "the user's config file"
    return None, f"no config file: built-in defaults and RAGATE_* variables (yours would be {mine})"


def describe_config(flag: str | None) -> str:
    path, how = config_in_force(flag)
    return f"{path.resolve()} ({how})" if path is not None else how


def load_settings(path: str | os.PathLike[str] | None = None, environ: typing.Mapping[str, str] | None = None) -> Settings:
    """Settings from a TOML file (or defaults) with environment overrides applied on top."""
    environ = os.environ if environ is None else environ
    data: dict[str, typing.Any] = {}
    origin = "defaults"
    cfg_path = Path(path) if path is not None else config_in_force(None, environ)[0]
    if cfg_path is not None:
        origin = str(cfg_path)
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {cfg_path}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{cfg_path}: not valid TOML: {e}") from None
    for section, values in _env_overrides(environ).items():
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        target.update(values)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e, origin)) from None
    _check_unknown_vars(environ, setting_vars(), settings.secret_vars() | Settings().secret_vars())
    settings.server.allowed_roots = resolve_roots(settings.server.allowed_roots, cfg_path)
    from_env = "path" in _env_overrides(environ).get("qdrant", {})
    settings.qdrant.path = index_path(str(data.get("qdrant", {}).get("path", "")), None if from_env else cfg_path, environ)
    return settings


def resolve_roots(roots: list[str], cfg_path: Path | None) -> list[str]:
    """Allowed roots as absolute real paths, fixed at start-up: relative ones are taken from the
    config file's folder (not the working directory, which a desktop client may set to `/`), no
    roots means that folder, and `/` is refused."""
    base = cfg_path.resolve().parent if cfg_path is not None else None
    if not roots:
        return [str(base)] if base is not None else []
    out = []
    for root in roots:
        p = Path(os.path.expanduser(root))
        if not p.is_absolute():
            if base is None:
                raise ConfigError(f"[server] allowed_roots: {root!r} is relative but there is no config file to resolve it against")
            p = base / p
        real = p.resolve()
        if real == Path(real.anchor):
            raise ConfigError(f"[server] allowed_roots: {root!r} is the file system root; name the folders to index")
        out.append(str(real))
    return out
