"""`ragate init` (a config file and the MCP client's entry for this install) and `ragate doctor`
(a setup checked end to end, with what to fix)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragate.retrieval.errors import BadInput, RagateError
from ragate.retrieval.language import action
from ragate.retrieval.model_paths import resolve_model
from ragate.server.agreement import PATH_KEYS
from ragate.server.cli.output import print_json, self_calibration_lines
from ragate.server.config import Settings
from ragate.server.config_writer import PRESET_KEYS, preset_changes, preset_lines, toml_value, write_preset
from ragate.server.ops import STATS
from ragate.server.service.client import ServiceClient
from ragate.server.settings_loader import CONFIG_VAR, ENV_PREFIX, config_in_force, describe_config, setting_vars


def client_config_path(client: str) -> Path:
    """Where each client reads its MCP servers from (project-local for claude-code and vscode)."""
    home = Path.home()
    if client == "claude-desktop":
        if sys.platform == "darwin":
            return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
        if sys.platform == "win32":
            return Path(os.environ.get("APPDATA", home)) / "Claude" / "claude_desktop_config.json"
        return home / ".config" / "Claude" / "claude_desktop_config.json"
    # Absolute but not resolved: a link stays a link, for merge_into to refuse.
    if client == "claude-code":
        return Path.cwd() / ".mcp.json"
    if client == "vscode":
        return Path.cwd() / ".vscode" / "mcp.json"
    return home / ".cursor" / "mcp.json"


def ragate_command() -> str:
    """This install's `ragate`, by absolute path: a client starts it without this shell's PATH."""
    beside = Path(sys.executable).parent / "ragate"
    return str(beside if beside.exists() else Path(shutil.which("ragate") or beside).resolve())


SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


def is_secret(var: str, value: str, secrets: set[str]) -> bool:
    """A variable never written to a client's file: one a `*_env` setting names, or one whose name
    says it holds a secret, or a URL carrying a password. Settings themselves hold none (keys are read from the variables the
    `*_env` settings name), so `RAGATE_RERANKER_API_KEY_ENV` goes along."""
    if var in secrets:
        return True
    if "://" in value and urllib.parse.urlsplit(value).password is not None:  # https://user:pass@host
        return True
    return var not in setting_vars() and any(w in var.upper().removeprefix(ENV_PREFIX) for w in SECRET_WORDS)


def server_entry(client: str, config: Path, settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """The client's entry, and the variables left out of it as secrets.

    RAGATE_* settings from this shell go along (a reranker path, say), a path made absolute since the
    client starts the server elsewhere; no secret does (the client's file is plain text, often in a
    repository): the user sets those in the client's own environment."""
    paths = {f"{ENV_PREFIX}{k.replace('.', '_')}".upper() for k in (*PATH_KEYS, "qdrant.path")}
    # The variables *_env settings name: as configured, as this shell's RAGATE_* overrides say, and by default.
    named = {os.environ[v] for v, (_, key, _) in setting_vars().items() if key.endswith("_env") and os.environ.get(v)}
    secrets = settings.secret_vars() | Settings().secret_vars() | named
    ours = {k: v for k, v in sorted(os.environ.items()) if k.startswith(ENV_PREFIX) and k != CONFIG_VAR}
    left_out = [k for k, v in ours.items() if is_secret(k, v, secrets)]
    env = {k: os.path.abspath(v) if k in paths and os.path.exists(v) else v for k, v in ours.items() if k not in left_out}
    # The config file as a variable: the args stay `serve`, which a launcher's own flags (the MCP
    # Inspector's --config) cannot clash with.
    entry: dict[str, Any] = {"command": ragate_command(), "args": ["serve"], "env": {CONFIG_VAR: str(config), **env}}
    return ({"type": "stdio", **entry} if client == "vscode" else entry), left_out


def client_block(client: str, config: Path, settings: Settings) -> tuple[dict[str, Any], list[str]]:
    entry, left_out = server_entry(client, config, settings)
    return {"servers" if client == "vscode" else "mcpServers": {"ragate": entry}}, left_out


def write_config(path: Path, folder: Path | None, languages: str = "english") -> bool:
    """A config file for this setup, with the models of a `--languages` preset; an existing one is
    left as it is (False), and a link is refused."""
    if path.is_symlink():
        raise BadInput(f"{path} is a symbolic link; ragate writes no file through one")
    if path.exists():
        return False
    # No [qdrant] path: the per-user index, which every command reaches from any folder.
    lines = [f"# Written by `ragate init` on {dt.date.today().isoformat()}; every key is described in the project's config.toml.", ""]
    if folder is not None:
        lines += ["[server]", f"allowed_roots = [{json.dumps(str(folder))}]", "", "[index]", f"watch = [{json.dumps(str(folder))}]", ""]
    lines += preset_lines(languages)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return True


def apply_languages(path: Path, languages: str) -> list[str]:
    """An existing config file's models set to a `--languages` preset's, its other keys and comments
    kept and the old file kept as .bak; what changed, as `[section] key = value` lines."""
    if path.is_symlink():
        raise BadInput(f"{path} is a symbolic link; ragate writes no file through one")
    try:
        current = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise BadInput(f"{path} is not a TOML file ({e}); fix it before --languages changes it") from None
    changes = preset_changes(languages, current)
    if changes:
        _write_new(path.with_name(path.name + ".bak"), path.read_bytes())
        write_preset(path, languages, changes)
    return [f"[{section}] {key} = {toml_value(value)}" for section, key, value in changes]


def overridden() -> list[str]:
    """The RAGATE_* variables in this shell that override a key the presets set (they go into the client's entry too)."""
    return [v for section, keys in PRESET_KEYS.items() for key in keys if (v := f"{ENV_PREFIX}{section}_{key}".upper()) in os.environ]


def merge_into(target: Path, block: dict[str, Any]) -> Path | None:
    """Add ragate to a client's config file, keeping everything else; the old file is kept as .bak.

    Everything is checked before anything is written: a symlink (a cloned repository could point
    `.mcp.json` anywhere) and a file that is not UTF-8 JSON with an object where the servers go are
    refused with what to do. The file is written 0600, through a new file moved into place."""
    backup = target.with_name(target.name + ".bak")
    for path in (target, backup, target.parent):
        if path.is_symlink():
            raise BadInput(f"{path} is a symbolic link; ragate writes no file through one: merge the entry by hand")
    data: dict[str, Any] = {}
    if target.exists():
        try:
            data = json.loads(target.read_bytes().decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BadInput(f"{target} is not UTF-8 JSON ({type(e).__name__}); fix it or merge the entry by hand") from None
        if not isinstance(data, dict):
            raise BadInput(f"{target} does not hold a JSON object; merge the entry by hand")
    for key in block:
        if not isinstance(data.get(key, {}), dict):
            raise BadInput(f"{target}: {key!r} is not a JSON object; merge the entry by hand")
    kept = None
    if target.exists():
        _write_new(backup, target.read_bytes())
        kept = backup
    for key, servers in block.items():
        data.setdefault(key, {}).update(servers)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_new(target, (json.dumps(data, indent=2) + "\n").encode())
    return kept


def _write_new(path: Path, data: bytes) -> None:
    """`path` replaced by a new 0600 file: written beside it (O_EXCL, O_NOFOLLOW: no planted file or
    link is written through), then moved into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    folder = Path(args.folder).resolve() if args.folder else None
    if folder is not None and not folder.is_dir():
        raise BadInput(f"--folder {args.folder}: not a folder")
    config = (config_in_force(args.config)[0] or Path("config.toml")).resolve()
    wrote = write_config(config, folder, args.languages or "english")
    print(f"{'wrote' if wrote else 'kept the existing'} {config}", file=sys.stderr)
    if args.languages and not wrote:
        # Asked for by name: the existing file's models become the preset's.
        changed = apply_languages(config, args.languages)
        print(
            f"--languages {args.languages}: "
            + (f"set {'; '.join(changed)} (the old file is {config}.bak)" if changed else "its models are already these"),
            file=sys.stderr,
        )
        if changed:
            print(
                "a collection keeps the embedder it was indexed with and refuses another: index into a new collection "
                "(ragate index PATH -c NAME), or drop the old one (ragate delete --drop-collection -c NAME) and index it again",
                file=sys.stderr,
            )
    if args.languages and (over := overridden()):
        print(f"set in this shell, these override the config file's models: {', '.join(over)}", file=sys.stderr)
    block, left_out = client_block(args.client, config, settings)
    if left_out:
        print(
            f"not written to the client's file (secrets): {', '.join(left_out)}; set them in the client's own environment",
            file=sys.stderr,
        )
    if args.write:
        target = client_config_path(args.client)
        backup = merge_into(target, block)
        print(f"added ragate to {target}" + (f" (the old file is {backup})" if backup else ""), file=sys.stderr)
    else:
        print(f"add this to {client_config_path(args.client)} (or run again with --write):", file=sys.stderr)
        print_json(block)
    return 0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # usable, but something needs a look


def _model_check(name: str, model: str, key: str) -> Check:
    try:
        where = resolve_model(model)
    except RagateError as e:
        return Check(name, False, str(e), f"set {key} in the config file (or RAGATE_{key.replace('] ', '_').strip('[').upper()})")
    return Check(name, True, where)


def checks(settings: Settings, config: str | None) -> list[Check]:
    s = settings
    out = [Check("config", True, describe_config(config))]
    roots = s.server.allowed_roots
    missing = [r for r in roots if not Path(r).is_dir()]
    if not roots:
        # Usable: the CLI indexes what it is given; only an MCP caller's index_paths needs roots.
        out.append(
            Check(
                "allowed roots",
                True,
                "none: the MCP tool index_paths refuses every path (ragate index is not affected)",
                "set [server] allowed_roots (or run `ragate init --folder DIR`)",
                warning=True,
            )
        )
    else:
        out.append(Check("allowed roots", not missing, ", ".join(roots), f"create or correct: {', '.join(missing)}" if missing else ""))
    out.append(_model_check("embedder", s.embedder.model, "[embedder] model"))
    out.append(_model_check("reranker", s.reranker.model, "[reranker] model"))
    index = Path(s.qdrant.path).resolve()
    parent = next((p for p in (index, *index.parents) if p.exists()), Path("/"))
    writable = os.access(parent, os.W_OK)
    out.append(Check("index folder", writable, str(index), "" if writable else f"{parent} is not writable: set [qdrant] path"))
    if all(c.ok for c in out):
        engines, service = _service_checks(settings, config)
        # One verdict per model: where it is found, and what it runs on once loaded.
        out = [engines.get(c.name, c) for c in out] + service
    token = bool(os.environ.get(s.server.token_env))
    out.append(
        Check("HTTP token", True, f"{s.server.token_env} is {'set' if token else 'not set: only stdio can serve (serve --http needs it)'}")
    )
    return out


def _service_checks(settings: Settings, config: str | None) -> tuple[dict[str, Check], list[Check]]:
    """The index service started (or reached) and asked for its models: each model's verdict once
    loaded (by the model's check name), and the service's own checks."""
    client = ServiceClient(settings, config_path=config)
    try:
        stats = client.run(STATS)
    except RagateError as e:
        return {}, [Check("index service", False, str(e), f"see {client.paths.log}")]
    finally:
        client.close()
    engines = {}
    for model in ("embedder", "reranker"):
        m = stats[model]
        if m["error"]:
            engines[model] = Check(model, False, f"{m['model']}: {m['error']}", f"set [{model}] model or backend; see {client.paths.log}")
        else:
            engines[model] = Check(model, True, f"{m['model']}: {m['engine']} on {m['device']} ({m['engine_reason']})")
    out = [
        Check("index service", True, f"pid {stats['service']['pid']}, index {stats['location']}, {len(stats['collections'])} collections")
    ]
    for name, c in stats["collections"].items():
        if "error" not in c and not c.get("records_lang"):
            out.append(
                Check(
                    f"languages of {name}",
                    True,
                    "indexed before each passage's language was recorded: its language mix is unknown and a `lang` filter is refused",
                    f"ragate delete --drop-collection -c {name}, then index it again",
                    warning=True,
                )
            )
        if warning := c.get("language_warning"):
            out.append(Check(f"languages of {name}", True, warning, action(["embedder", "reranker"]), warning=True))
        for source, why in (c.get("calibration_set_aside") or {}).items():
            fix = f"ragate calibrate --self -c {name}" if source == "self" else f"ragate calibrate ... -c {name} (with your labels)"
            out.append(Check(f"calibration of {name}", True, f"the {source} calibration is set aside: {why}", fix, warning=True))
        if rw := c.get("relevance_weight"):
            out.append(Check(f"reranker on {name}", True, f"weight {rw['weight']:g}: {rw['why']}"))
        if lines := self_calibration_lines(stats, name):
            failed = lines[0].startswith("WARNING")
            detail = lines[0].removeprefix("WARNING ")
            fix = f"ragate calibrate --self -c {name} shows the whole error; see {client.paths.log}" if failed else ""
            out.append(Check(f"calibration of {name}", True, detail, fix, warning=failed))
    return engines, out


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    found = checks(settings, args.config)
    if args.json:
        print_json({"ok": all(c.ok for c in found), "checks": [c.__dict__ for c in found]})
    else:
        for c in found:
            print(
                f"{'FAIL' if not c.ok else 'WARN' if c.warning else 'ok  '} {c.name}: {c.detail}"
                + (f"\n     fix: {c.fix}" if c.fix else "")
            )
    return 0 if all(c.ok for c in found) else 1
