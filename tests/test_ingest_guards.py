"""What index_paths will and will not read, in-process: roots, system folders, the secret-file
denylist (for files named explicitly too), symlink loops and sizes measured on bytes read."""

import os
from pathlib import Path

import pytest

from ragate.retrieval.errors import ConfigError, ExtractionError, IngestError
from ragate.retrieval.ingest import IngestOptions, discover, read_source
from ragate.server.settings_loader import load_settings

OPTS = IngestOptions(include=["**/*.md", "**/*.txt"], exclude=["**/drafts/**"], max_file_bytes=1000, max_chars=10_000, max_chunks=10)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "root"
    (root / ".git").mkdir(parents=True)
    (root / "drafts").mkdir()
    (root / "ok.md").write_text("fine")
    (root / ".env.md").write_text("API_KEY=1")
    (root / ".git" / "config.md").write_text("token")
    (root / "id_rsa.txt").write_text("key")
    (root / "credentials.txt").write_text("secret")
    (root / "drafts" / "wip.md").write_text("draft")
    (root / "loop.md").symlink_to(root / "loop.md")
    return root


def names(paths):
    return sorted(Path(p).name for p in paths)


def test_walk_skips_secrets_and_loops(tree):
    d = discover([tree], OPTS, [tree])
    assert names(d.files) == ["ok.md"]
    kinds = {Path(s.path).name: s.kind for s in d.skipped}
    reasons = {Path(s.path).name: s.reason for s in d.skipped}
    assert "denylist" in reasons[".env.md"] and "denylist" in reasons["id_rsa.txt"] and "denylist" in reasons["credentials.txt"]
    secret = dict.fromkeys([".env.md", "config.md", "id_rsa.txt", "credentials.txt"], "secret")
    assert kinds == {**secret, "loop.md": "unreadable", "drafts": "excluded_folder"}
    assert "loop" in reasons["loop.md"].lower() and "**/drafts/**" in reasons["drafts"]
    # Every file met is taken or skipped; the excluded folder is not walked, so its file is not counted.
    assert d.seen == 6 == len(d.files) + len(d.skipped) - 1


@pytest.mark.parametrize("name", [".env.md", ".git/config.md", "id_rsa.txt", "credentials.txt", "drafts/wip.md"])
def test_files_named_explicitly_obey_denylist_and_excludes(tree, name):
    d = discover([tree / name], OPTS, [tree])
    assert d.files == [] and d.seen == 1 and len(d.skipped) == 1
    assert d.skipped[0].kind in ("secret", "excluded") and ("denylist" in d.skipped[0].reason or "exclude" in d.skipped[0].reason)


def test_system_folders_and_empty_roots_are_refused(tree):
    for p in ("/proc/self/environ", "/sys/kernel", "/dev/zero"):
        with pytest.raises(IngestError, match="never indexed"):
            discover([p], OPTS, None)
    with pytest.raises(IngestError, match="allowed_roots"):
        discover([tree], OPTS, [])


def test_long_paths_are_cut_in_errors(tree):
    with pytest.raises(IngestError) as err:
        discover(["/x" * 250_000], OPTS, [tree])
    assert len(str(err.value)) < 500 and "500000 characters" in str(err.value)


def test_size_is_measured_on_bytes_read(tmp_path):
    assert os.stat("/proc/self/status").st_size == 0  # the kind of file that lies about its size
    with pytest.raises(ExtractionError, match="over the limit"):
        read_source(Path("/proc/self/status"), IngestOptions([], [], max_file_bytes=10, max_chars=1, max_chunks=1))
    os.mkfifo(tmp_path / "pipe.md")
    with pytest.raises(ExtractionError, match="regular file"):
        read_source(tmp_path / "pipe.md", OPTS)


def test_allowed_roots_resolve_against_the_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "conf" / "config.toml"
    cfg.parent.mkdir()
    cfg.write_text("")
    monkeypatch.chdir("/")
    assert load_settings(cfg, environ={}).server.allowed_roots == [str(cfg.parent.resolve())]
    cfg.write_text('[server]\nallowed_roots = ["docs", "/srv/../tmp"]\n')
    assert load_settings(cfg, environ={}).server.allowed_roots == [str(cfg.parent.resolve() / "docs"), "/tmp"]
    cfg.write_text('[server]\nallowed_roots = ["/"]\n')
    with pytest.raises(ConfigError, match="file system root"):
        load_settings(cfg, environ={})
    assert load_settings(None, environ={}).server.allowed_roots == []  # no config file in / : nothing allowed
