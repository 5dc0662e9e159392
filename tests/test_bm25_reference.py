"""The BM25 channel (Qdrant sparse vectors with the IDF modifier) ranks like rank_bm25's BM25Okapi."""

import re

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ragate.retrieval.bm25 import Bm25Encoder
from ragate.retrieval.documents import Chunk
from ragate.retrieval.qdrant import EdgeQdrant

CORPUS = [
    "the moon pulls the oceans and raises tides twice a day",
    "spring tides happen at new moon and full moon when sun and moon align",
    "neap tides happen at quarter moon when the pulls partly cancel",
    "photosynthesis turns light carbon dioxide and water into sugar",
    "chlorophyll absorbs red and blue light and reflects green light",
    "insulin lowers blood sugar by letting cells take up glucose",
    "glucagon raises blood sugar by releasing glucose from the liver",
    "volcanoes erupt magma as lava ash and gas",
    "magma rich in silica traps gas and erupts explosively",
    "the speed of light in vacuum is fixed by the definition of the metre",
    "black holes trap light behind the event horizon",
    "bacteria gain antibiotic resistance through mutation and plasmids",
]
QUERIES = ["moon tides", "light sugar", "blood glucose liver", "magma gas silica", "event horizon light", "antibiotic plasmids"]


class LuceneIdfBM25(BM25Okapi):
    """rank_bm25's Okapi scoring with Lucene's non-negative IDF, ln(1 + (N - n + 0.5) / (n + 0.5)),
    which is the IDF Qdrant's modifier applies; plain Okapi IDF goes negative for common terms."""

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = np.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


def tokens(t):
    return re.findall(r"\w+", t.lower())


def test_rankings_agree_with_rank_bm25(tmp_path):
    avg = float(np.mean([len(tokens(t)) for t in CORPUS]))
    enc = Bm25Encoder(k1=1.5, b=0.75, avg_len=avg, stemming=False, stopwords=False)
    backend = EdgeQdrant(tmp_path / "q")
    store = backend.open("bm25", create={"dim": 2})
    chunks = [
        Chunk(
            chunk_id=f"00000000-0000-0000-0000-{i:012d}",
            doc_id=str(i),
            chunk_index=0,
            text=t,
            source=str(i),
            title="",
            heading_path=[],
            char_start=0,
            char_end=len(t),
            content_hash="",
        )
        for i, t in enumerate(CORPUS)
    ]
    store.upsert(chunks, np.ones((len(CORPUS), 2), np.float32), enc.encode_documents(CORPUS))
    ref = LuceneIdfBM25([tokens(t) for t in CORPUS], k1=1.5, b=0.75)
    okapi = BM25Okapi([tokens(t) for t in CORPUS], k1=1.5, b=0.75)
    for q in QUERIES:
        ours = {int(h.chunk.doc_id): h.score for h in store.search_sparse(enc.encode_query(q), None, len(CORPUS))}
        theirs = ref.get_scores(tokens(q))
        matched = [i for i in range(len(CORPUS)) if theirs[i] > 0]
        assert set(ours) == set(matched), q
        assert [ours[i] for i in matched] == pytest.approx([theirs[i] for i in matched], rel=1e-3), q
        assert sorted(matched, key=lambda i: -ours[i]) == sorted(matched, key=lambda i: -theirs[i]), q
        # plain Okapi IDF weighs terms differently but agrees on the best match
        assert max(ours, key=ours.get) == int(np.argmax(okapi.get_scores(tokens(q)))), q
    backend.close()
