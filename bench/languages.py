"""Retrieval per language on the same pages: Debian's translated man pages (German, French, Spanish,
Japanese, Chinese) beside the English originals of exactly those pages.

Each page's query is its NAME line's description in the page's own language ("ls - Verzeichnisinhalte
auflisten" → "Verzeichnisinhalte auflisten"), removed from the indexed text, as `bench.corpora
manpages` does for English. Corpora, each a BEIR directory under --cache and one collection:

- `<lang>`: the translated pages, queried in that language; `<lang>-en`: the English originals of
  the same pages, queried in English. BM25 per language is judged against its `-en` twin.
- `no-english`: every translated page in one collection, each language's queries against it (a
  corpus the default English models do not read).
- `cross-en`: the Japanese and German pages, queried in English (both versions relevant).

Each is run through the product's stages (`ragate eval`'s runs: bm25, dense, hybrid and
hybrid+rerank+blend, on the test half of the queries) with the configured models. With `--gate`,
each translated corpus is first self-calibrated (`ragate calibrate --self`'s fit), and the gate is
judged through `answer_or_abstain`: false-abstain on its test queries (each has its page in the
collection), false-accept on off-topic questions in its language written for this bench alone
(bench/data/languages/offtopic_heldout.jsonl; self-calibration never sees them).

    RAGATE_RERANKER_MODEL=../shared/models/ragate-ce-minilm-l6-scifact python -m bench.languages \\
        [--cache ~/.cache/ragate-bench/languages] [--langs de,fr,es,ja,zh_CN] [--out bench/results/languages.json]

Other languages Debian translates work the same (`apt install manpages-nl manpages-sv manpages-da
manpages-fi`, then `--langs nl,sv,da,fi --cache <another folder> --variants bm25`: the compounding
languages BM25's pieces of words were checked on, with `RAGATE_BM25_SUBWORDS=false` for the words alone).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.corpora import MAN, render, write_beir
from ragate.retrieval.beir import BeirDataset
from ragate.retrieval.errors import BadInput
from ragate.server.lab.evaluate import evaluate
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.pipeline import Pipeline
from ragate.server.requests import AnswerRequest
from ragate.server.settings_loader import load_settings

log = logging.getLogger("bench.languages")
VARIANTS = ["bm25", "dense", "hybrid", "hybrid+rerank+blend"]
HELD_OUT = Path(__file__).parent / "data" / "languages" / "offtopic_heldout.jsonl"
GATED = {"de": ["de"], "fr": ["fr"], "es": ["es"], "ja": ["ja"], "zh_CN": ["zh"], "no-english": ["de", "fr", "es", "ja", "zh"]}
README = "Translated Debian man pages (each page's own licence, as its package states); see bench/languages.py.\n\n{stats}"


def split_first_section(rendered: str) -> tuple[str | None, str]:
    """The first section's text (NAME, BEZEICHNUNG, NOM, NOMBRE, 名前, 名称: whatever the language
    calls it), and the page without it and without the running header and footer."""
    lines = rendered.splitlines()
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for i in (nonblank[-1], nonblank[0]) if nonblank else ():
        if re.search(r"\(\w+\)\s*$", lines[i]):
            del lines[i]
    heads = [i for i, line in enumerate(lines) if line.strip() and not line[0].isspace()]
    if len(heads) < 2:
        return None, ""
    name = " ".join(" ".join(lines[heads[0] + 1 : heads[1]]).split())
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in lines[heads[1] :])).strip()
    return name, text


def description(name: str) -> str:
    """ "ls - list directory contents" → "list directory contents"."""
    parts = re.split(r"\s+[-—–]+\s+|\s*－\s*", name, maxsplit=1)
    return parts[-1].strip()


def page(path: Path) -> tuple[str, str] | None:
    """(query, text) of one page, or None when it has no usable NAME section."""
    rendered = render(path)
    if not rendered:
        return None
    name, text = split_first_section(rendered)
    if not name or len(text) < 200:
        return None
    query = description(name)
    return (query, text) if 3 <= len(query) <= 200 else None


def pages(lang: str) -> dict[str, tuple[tuple[str, str], tuple[str, str]]]:
    """page id → ((query, text) translated, (query, text) English), for pages both render."""
    rel = sorted(p.relative_to(MAN / lang) for p in (MAN / lang).glob("man*/*.gz") if (MAN / p.relative_to(MAN / lang)).is_file())
    with ThreadPoolExecutor(2) as pool:  # each render is a man|groff subprocess
        there = list(pool.map(page, [MAN / lang / r for r in rel]))
        here = list(pool.map(page, [MAN / r for r in rel]))
    return {str(r).removesuffix(".gz").replace("/", "_"): (t, e) for r, t, e in zip(rel, there, here, strict=True) if t and e}


def build(cache: Path, langs: list[str]) -> dict[str, Path]:
    """The BEIR directories (built once, then read from the cache)."""
    done = cache / "built.json"
    if done.is_file():
        return {k: Path(v) for k, v in json.loads(done.read_text()).items()}
    dirs: dict[str, Path] = {}
    every: dict[str, dict[str, tuple[tuple[str, str], tuple[str, str]]]] = {}
    for lang in langs:
        t0 = time.monotonic()
        every[lang] = found = pages(lang)
        log.warning("%s: %d pages with a NAME line in both languages (%.0f s)", lang, len(found), time.monotonic() - t0)
        for suffix, which in ((lang, 0), (f"{lang}-en", 1)):
            docs = [{"_id": pid, "title": "", "text": pair[which][1]} for pid, pair in found.items()]
            queries = {f"q:{pid}": pair[which][0] for pid, pair in found.items()}
            dirs[suffix] = cache / suffix
            write_beir(dirs[suffix], docs, queries, {f"q:{pid}": pid for pid in found}, README)
    docs, queries, qrels = [], {}, {}
    for lang, found in every.items():
        for pid, ((q, text), _) in found.items():
            docs.append({"_id": f"{lang}:{pid}", "title": "", "text": text})
            queries[f"q:{lang}:{pid}"] = q
            qrels[f"q:{lang}:{pid}"] = f"{lang}:{pid}"
    dirs["no-english"] = cache / "no-english"
    write_beir(dirs["no-english"], docs, queries, qrels, README)
    cross = [lang for lang in ("ja", "de") if lang in every]
    if cross:
        both = set.intersection(*(set(every[lang]) for lang in cross))
        docs = [{"_id": f"{lang}:{pid}", "title": "", "text": every[lang][pid][0][1]} for lang in cross for pid in sorted(both)]
        queries = {f"q:{pid}": every[cross[0]][pid][1][0] for pid in sorted(both)}
        dirs["cross-en"] = cache / "cross-en"
        write_beir(dirs["cross-en"], docs, queries, {f"q:{pid}": f"{cross[0]}:{pid}" for pid in sorted(both)}, README)
        # Both translations are relevant to the English question.
        for split in ("train", "test"):
            path = dirs["cross-en"] / "qrels" / f"{split}.tsv"
            rows = path.read_text().splitlines()
            extra = [f"{q}\t{lang}:{c.split(':', 1)[1]}\t1" for q, c, _ in (r.split("\t") for r in rows[1:]) for lang in cross[1:]]
            path.write_text("\n".join([*rows, *extra]) + "\n")
    done.write_text(json.dumps({k: str(v) for k, v in dirs.items()}))
    return dirs


def gate(p: Pipeline, collection: str, path: Path, langs: list[str]) -> dict[str, Any]:
    """The gate through answer_or_abstain: the test queries (answerable) and the held-out off-topic
    questions in these languages."""
    ds = BeirDataset.load(path, "test")
    held = [q for q in map(json.loads, HELD_OUT.read_text(encoding="utf-8").splitlines()) if q["lang"] in langs]
    abstained = sum(p.answer(AnswerRequest(query=ds.queries[q], collection=collection)).status == "abstain" for q in ds.qrels)
    accepted = [q["text"] for q in held if p.answer(AnswerRequest(query=q["text"], collection=collection)).status == "answer"]
    return {
        "false_abstain": round(abstained / len(ds.qrels), 3),
        "offtopic_false_accept": round(len(accepted) / len(held), 3),
        "offtopic_asked": len(held),
        "offtopic_answered": accepted,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "ragate-bench" / "languages"))
    ap.add_argument("--langs", default="de,fr,es,ja,zh_CN")
    ap.add_argument("--out", default="bench/results/languages.json")
    ap.add_argument("--gate", action="store_true", help="self-calibrate each translated corpus and judge its gate")
    ap.add_argument("--corpora", default="", help="only these corpora, comma-separated (default: all)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"which of {','.join(VARIANTS)} (bm25 alone needs no reranking)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cache = Path(args.cache)
    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    dirs = build(cache, [x.strip() for x in args.langs.split(",") if x.strip()])
    if args.corpora:
        dirs = {name: path for name, path in dirs.items() if name in args.corpora.split(",")}
    settings = load_settings(None, {**os.environ, "RAGATE_QDRANT_PATH": str(cache / "qdrant")})
    p = Pipeline(settings)
    p.models.load()
    rows: dict[str, Any] = {}
    for name, path in dirs.items():
        t0 = time.monotonic()
        collection = f"lang-{name.replace('_', '-')}"
        gated = args.gate and name in GATED
        if gated:
            evaluate(p.retriever, str(path), variants=["bm25"], collection=collection, out_dir=None, progress=False)  # indexed first
            try:
                calibrated = self_calibrate(p.retriever, collection=collection)
            except BadInput as e:  # refused (the collection keeps its calibration): said in the row, the rest judged
                calibrated = {"refused": str(e)}
        r = evaluate(p.retriever, str(path), variants=variants, collection=collection, out_dir=None, progress=False)
        languages = p.catalog.languages(collection)
        rows[name] = {
            "queries": r["queries"],
            "languages": dict(sorted(languages.items(), key=lambda kv: -kv[1])),
            "calibration": p.catalog.profile(collection).source,
            **{v: round(r["variants"][v]["ndcg@10"], 4) for v in variants},
        }
        if gated:
            rows[name]["self_calibration"] = {
                k: calibrated[k] for k in ("questions_asked", "answerable", "offtopic_kept", "refused") if k in calibrated
            }
            rows[name]["gate"] = gate(p, collection, path, GATED[name])
        log.warning("%s: %s (%.0f s)", name, rows[name], time.monotonic() - t0)
    p.close()
    print("| corpus | test queries | bm25 | dense | hybrid | hybrid+rerank+blend (calibration) | BM25 − English twin's | gate |")
    print("|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        twin = rows.get(f"{name}-en")
        gap = f"{row['bm25'] - twin['bm25']:+.3f}" if twin else ""
        cells = " | ".join(f"{row[v]:.3f}" if v in row else "–" for v in VARIANTS)
        g = row.get("gate")
        judged = f"false-abstain {g['false_abstain']:.2f}, off-topic false-accept {g['offtopic_false_accept']:.2f}" if g else ""
        print(f"| {name} | {row['queries']} | {cells} ({row['calibration']}) | {gap} | {judged} |")
    Path(args.out).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
