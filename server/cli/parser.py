"""The `ragate` argument parser: every command, its flags and its help."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from ragate.server.config_writer import LANGUAGE_PRESETS

# Handlers are imported when a command runs, not to build the parser: `ragate --help` and a
# mistyped flag answer without loading the MCP SDK, the models' libraries or the service client.
FILTER_HELP = (
    "KEY=VALUE, repeatable: source=GLOB, source_prefix=PATH, source_type=A[,B], doc_id=ID[,ID], "
    "lang=CODE[,CODE], updated_after=ISO-DATE, updated_before=ISO-DATE, meta.FIELD=VALUE"
)
CLIENTS = ("claude-desktop", "claude-code", "vscode", "cursor")


def _handler(module: str, name: str) -> Callable[[argparse.Namespace, Any], int]:
    def run(args: argparse.Namespace, settings: Any) -> int:
        return getattr(importlib.import_module(f"ragate.server.cli.{module}"), name)(args, settings)

    run.__name__ = name
    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragate",
        description="Retrieval agents can trust: hybrid (dense + BM25) search over Qdrant, cross-encoder "
        "reranking, calibrated abstention; as a CLI and an MCP server.",
        epilog="Every config key can be overridden by RAGATE_<SECTION>_<KEY>, e.g. RAGATE_RERANKER_MODEL=path/to/model.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $RAGATE_CONFIG, else ./config.toml, else ~/.config/ragate/config.toml, else built-in defaults)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for library logs)")
    parser.set_defaults(reads_config=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser, json_flag: bool = True) -> None:
        sp.add_argument(
            "--collection",
            "-c",
            help="collection (corpus) name; default [index] collection (search, answer: A,B reads several as one pool)",
        )
        if json_flag:
            sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    sp = sub.add_parser(
        "index",
        help="index files and folders (incremental)",
        description="Index .md .txt .rst .html .pdf files. Unchanged files are skipped by content hash; "
        "changed files replace their chunks; --prune removes files that are gone.",
    )
    sp.add_argument("paths", nargs="+", metavar="PATH")
    sp.add_argument("--prune", action="store_true", help="remove indexed files under PATH that no longer exist")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.add_argument(
        "--list-skipped", action="store_true", help="list every file left out, the include/exclude globs' choices too (as -v does)"
    )
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_index"))

    sp = sub.add_parser(
        "search",
        help="hybrid search, reranked",
        description="Hybrid dense + BM25 retrieval, fused, "
        "reranked by the cross-encoder and blended with freshness, authority and diversity.",
    )
    sp.add_argument("query")
    sp.add_argument("--top-k", "-k", type=int, default=10, help="results to return (default 10)")
    sp.add_argument("--filter", "-f", action="append", metavar="KEY=VALUE", help=FILTER_HELP)
    sp.add_argument("--candidates", type=int, help="fused candidate pool to rerank (default [retrieval] candidates)")
    sp.add_argument("--fusion", choices=["rrf", "weighted"], help="fusion method (default [retrieval] fusion)")
    sp.add_argument("--no-rerank", action="store_true", help="skip the cross-encoder (fused order)")
    sp.add_argument("--max-tokens", type=int, metavar="N", help="budget of passage tokens in the output (default [server] max_tokens)")
    sp.add_argument(
        "--rerank-budget-ms",
        type=float,
        metavar="MS",
        help="rerank only as many candidates as fit this budget (default [reranker] budget_ms)",
    )
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_search"))

    sp = sub.add_parser(
        "answer",
        help="cited passages, or an explicit 'I don't know' with the evidence",
        description="The answer_or_abstain tool from the command line: the search pipeline behind the abstain gate.",
    )
    sp.add_argument("query")
    sp.add_argument("--filter", "-f", action="append", metavar="KEY=VALUE", help=FILTER_HELP)
    sp.add_argument("--min-score", type=float, metavar="P", help="calibrated relevance a passage needs (default [gate] min_score)")
    sp.add_argument("--max-passages", type=int, metavar="N", help="passages to return at most (default [gate] max_passages)")
    sp.add_argument("--max-tokens", type=int, metavar="N", help="budget of passage tokens in the output (default [server] max_tokens)")
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_answer"))

    sp = sub.add_parser(
        "rerank",
        help="score your own documents against a query",
        description="The rerank tool from the command line: calibrated relevance of each DOCUMENT, best first.",
    )
    sp.add_argument("query")
    sp.add_argument("documents", nargs="+", metavar="DOCUMENT", help="document text (repeatable)")
    sp.add_argument("--top-n", type=int, metavar="N", help="print only the best N")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=_handler("commands", "cmd_rerank"))

    sp = sub.add_parser("stats", help="collections, counts, models")
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_stats"))

    sp = sub.add_parser(
        "metrics",
        help="the index service's Prometheus metrics, printed",
        description="Calls per tool and outcome, latency per tool and stage, reranker pairs and score-cache hits, "
        "the gate's decisions and p_answerable, the index's size and the engines in use, in the Prometheus text "
        "format (what `serve --http` serves at /metrics), for setups that speak stdio only.",
    )
    sp.set_defaults(func=_handler("commands", "cmd_metrics"))

    sp = sub.add_parser(
        "engines",
        help="the CPU engine each model runs on and the measured verdicts",
        description="Which engine the bi-encoder and the reranker run on, why, whether a measurement is under way, and "
        'each engine\'s speed against PyTorch and agreement with it as `backend = "auto"` measured them. '
        "--measure drops the stored verdicts and measures again in the background (the models serve meanwhile).",
    )
    sp.add_argument("--measure", action="store_true", help="measure the engines again, in the index service's background")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=_handler("commands", "cmd_engines"))

    sp = sub.add_parser("delete", help="delete chunks by id or filter, or a whole collection")
    sp.add_argument("--id", action="append", metavar="CHUNK_ID", help="chunk id (repeatable)")
    sp.add_argument("--filter", "-f", action="append", metavar="KEY=VALUE", help=FILTER_HELP)
    sp.add_argument("--drop-collection", action="store_true", help="delete the whole collection")
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_delete"))

    sp = sub.add_parser(
        "feedback",
        help="say whether a passage was useful for a query (labels for tune and calibrate)",
        description="The feedback tool from the command line: the verdict is stored beside the index as a labelled pair.",
    )
    sp.add_argument("query")
    sp.add_argument("chunk_id", metavar="CHUNK_ID")
    verdict = sp.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--useful", dest="useful", action="store_true", help="the passage helped")
    verdict.add_argument("--not-useful", dest="useful", action="store_false", help="the passage was discarded")
    sp.add_argument("--note", help="why, in a sentence")
    common(sp)
    sp.set_defaults(func=_handler("commands", "cmd_feedback"))

    sp = sub.add_parser(
        "eval",
        help="IR metrics per pipeline variant on a BEIR dataset, and gate error rates",
        description="Index a BEIR-format dataset (corpus.jsonl, queries.jsonl, qrels/test.tsv; gzip "
        "accepted) into its own collection and report nDCG@10, MRR@10, Recall@100, Hit@1 and "
        "ms/query for bm25, dense, hybrid, hybrid+rerank, hybrid+rerank+blend; plus the gate's "
        "false-accept/false-abstain rates. Writes JSON, Markdown, CSV and PNG under --out.",
    )
    sp.add_argument("--dataset", required=True, metavar="DIR")
    sp.add_argument("--variants", help="comma-separated subset of: bm25,dense,hybrid,hybrid+rerank,hybrid+rerank+blend")
    sp.add_argument("--max-queries", type=int, help="deterministic sample of N test queries")
    sp.add_argument("--candidates", type=int, default=100, help="candidate pool per query (default 100)")
    sp.add_argument("--out", default="bench/results", help="output folder (default bench/results)")
    sp.add_argument("--offtopic-queries", metavar="FILE", help='JSONL of {"_id", "text"} the corpus cannot answer: adds gate.off_topic')
    sp.add_argument(
        "--rerankers",
        metavar="SPEC[,SPEC...]",
        help="rerank the same fused pools with each and print a leaderboard: local:<model>, causal-lm:<model>, "
        "http:<url>[#<served model>], cohere|voyage|jina|zeroentropy:<model> (at [reranker] url when set), claude:<model>",
    )
    sp.add_argument("--no-progress", action="store_true")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=_handler("lab_commands", "cmd_eval"))

    sp = sub.add_parser(
        "calibrate",
        help="fit a collection's calibration: relevance, the gate's threshold, the blend (--self: with no labels)",
        description="Each collection has its own calibration; responses say which is in force (labelled, self, default "
        "or none). --self fits one with no labels. Otherwise: fit Platt scaling (or isotonic) of reranker logits on labelled pairs, report expected "
        "calibration error before/after, and with --target-precision pick the lowest threshold "
        "reaching that precision on held-out pairs. With --offtopic-queries, also fit the gate's "
        "answerability model and pick the lowest threshold whose Clopper-Pearson bound on the "
        "false-accept rate, at --confidence, is at most --max-false-accept.",
    )
    sp.add_argument(
        "--self",
        dest="self_calibrate",
        action="store_true",
        help="no labels: questions made from the collection's own chunks and bundled off-topic ones fit its relevance "
        "calibration, the gate's model and threshold, and the blend's two weights ([calibration] sets the counts)",
    )
    sp.add_argument("--collection", "-c", help="collection to calibrate (--self and --labels; default [index] collection)")
    sp.add_argument("--questions", type=int, metavar="N", help="--self: questions to make (default [calibration] questions)")
    sp.add_argument("--offtopic", type=int, metavar="N", help="--self: bundled off-topic questions to ask (default [calibration] offtopic)")
    sp.add_argument("--dataset", metavar="DIR", help="BEIR-format dataset; pairs from the top candidates of --split queries")
    sp.add_argument("--labels", metavar="FILE", help='JSONL of {"query", "text", "relevant"}')
    sp.add_argument("--from-feedback", action="store_true", help="the verdicts agents gave with the feedback tool, as labelled pairs")
    sp.add_argument("--split", default="train", help="qrels split to fit on (default train)")
    sp.add_argument("--method", choices=["platt", "isotonic"], default="platt")
    sp.add_argument("--target-precision", type=float, help="choose the gate threshold reaching this precision")
    sp.add_argument("--candidates", type=int, default=20, help="candidates per query to label (default 20)")
    sp.add_argument("--max-queries", type=int)
    sp.add_argument(
        "--fit-blend",
        action="store_true",
        help="also choose [blend] w_relevance and w_retrieval by mean nDCG@10 on the labelled queries "
        "(--dataset qrels, or --from-feedback), each pool reranked once ([retrieval] candidates)",
    )
    sp.add_argument(
        "--write-config",
        action="store_true",
        help="write what was chosen to the config file: the threshold to [gate] min_score, the blend's weights to [blend]",
    )
    sp.add_argument(
        "--offtopic-queries",
        metavar="FILE",
        help='JSONL of {"_id", "text"}: questions the corpus cannot answer; fits the gate\'s answerability model',
    )
    sp.add_argument("--max-false-accept", type=float, default=0.05, help="false-accept rate the gate threshold must bound (default 0.05)")
    sp.add_argument("--confidence", type=float, default=0.9, help="confidence of that bound (default 0.9)")
    sp.add_argument("--no-progress", action="store_true")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=_handler("lab_commands", "cmd_calibrate"))

    sp = sub.add_parser(
        "tune",
        help="fine-tune the reranker on this collection (labels, feedback or synthesized questions)",
        description="Train a cross-encoder for one collection with a pointwise loss, hard negatives mined by ragate's own "
        "hybrid retrieval and random off-topic negatives; report nDCG@10 and gate rates before/after on held-out "
        "queries, and write the model with a card beside the index. With --distill-layers K, also (with --distill-only, "
        "instead) distil a K-layer first-pass model for a rerank cascade from the teacher's logits. Training runs in this "
        "process; the index service keeps serving.",
    )
    sp.add_argument("--dataset", metavar="DIR", help="BEIR-format dataset: train qrels (index it first with `ragate eval --dataset DIR`)")
    sp.add_argument("--pairs", metavar="FILE", help='JSONL of {"query", "text", "relevant"}')
    sp.add_argument("--from-feedback", action="store_true", help="the verdicts agents gave with the feedback tool")
    sp.add_argument("--synthesize", type=int, metavar="N", help="Claude writes a question for each of N sampled chunks ([llm] settings)")
    sp.add_argument(
        "--base",
        metavar="MODEL",
        help="model to start from (default [reranker] model; an encoder gets a fresh head); with --distill-only, the teacher",
    )
    sp.add_argument("--epochs", type=int, default=2, help="passes over the training pairs (default 2)")
    sp.add_argument("--max-queries", type=int, metavar="N", help="use at most N labelled queries")
    sp.add_argument("--max-minutes", type=float, metavar="M", help="stop training after M minutes, keeping the best checkpoint")
    sp.add_argument("--max-steps", type=int, default=-1, metavar="N", help="stop after N optimiser steps (quick trials)")
    sp.add_argument("--batch-size", type=int, default=16, help="pairs per optimiser step (default 16)")
    sp.add_argument("--output", metavar="DIR", help="where the model goes (default tuned-reranker/COLLECTION beside the index)")
    sp.add_argument("--device", help="cpu, cuda, mps (default [reranker] device)")
    sp.add_argument(
        "--distill-layers",
        type=int,
        metavar="K",
        help="also distil a K-layer first-pass model for a rerank cascade from the tuned one, written beside it as OUTPUT-first-pass-LK",
    )
    sp.add_argument(
        "--distill-only", action="store_true", help="distil the first-pass model from --base (default [reranker] model) without fine-tuning"
    )
    sp.add_argument(
        "--activate",
        action="store_true",
        help="set the tuned model as [reranker] model (and the distilled one as first_pass_model) in the config file",
    )
    sp.add_argument("--no-progress", action="store_true")
    common(sp)
    sp.set_defaults(func=_handler("lab_commands", "cmd_tune"))

    sp = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default, or streamable HTTP)",
        description="Run the MCP server with the tools search, rerank, answer_or_abstain, index_paths, "
        "add_documents, delete, feedback and stats. stdio (default) is what Claude Desktop launches; "
        "--http serves streamable HTTP at http://HOST:PORT/mcp and requires a bearer token "
        "in RAGATE_TOKEN. Every server (and CLI command) on one index shares its index service, which owns the "
        "store and the models and is started on first use; the handshake is answered at once and early calls wait.",
    )
    sp.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    sp.add_argument("--host", help="HTTP bind address (default [server] host, 127.0.0.1)")
    sp.add_argument("--port", type=int, help="HTTP port (default [server] port, 8765)")
    sp.add_argument(
        "--watch",
        action="append",
        metavar="PATH",
        help="keep this folder indexed as its files change (repeatable; also [index] watch); it must be under [server] allowed_roots",
    )
    sp.set_defaults(func=_handler("commands", "cmd_serve"))

    sp = sub.add_parser(
        "ui",
        help="open the web page: search with every score explained, the gate's evidence, the index, evaluations",
        description="Serve the web page on 127.0.0.1 and print a one-time login URL (one session, within 10 minutes). "
        "The page is one more client of the index service, beside the MCP servers and CLI commands on this index. "
        "`serve --http` serves the same page at /ui behind its token or OAuth.",
    )
    sp.add_argument("--port", type=int, help="port (default [ui] port, 8766)")
    sp.add_argument(
        "--open",
        action="store_true",
        help="open the URL in this machine's browser too (it then shows on the browser's command line, visible to other local users)",
    )
    sp.set_defaults(func=_handler("commands", "cmd_ui"))

    sp = sub.add_parser(
        "service",
        help="run the index service in the foreground (clients start it on their own)",
        description="The one process that owns an index directory ([qdrant] path): store, models, caches, reranker "
        "queue and folder watcher. `ragate serve` and the CLI commands connect to it over a Unix socket in that "
        "directory and start it when none runs; it exits after [service] idle_timeout_s without calls.",
    )
    sp.add_argument("--watch", action="append", metavar="PATH", help="keep this folder indexed (repeatable)")
    sp.add_argument("--stop", action="store_true", help="ask the running service to exit and return")
    sp.set_defaults(func=_handler("commands", "cmd_service"))

    sp = sub.add_parser(
        "init",
        help="write a config file and the MCP client's entry for this install",
        description="Write a config file (unless one exists) whose index lives beside it and, with --folder, whose allowed "
        "root and watched folder is DIR and, with --languages, whose models read more languages than English (set in an "
        "existing file too); then print the MCP server entry for the client, with absolute paths to this install "
        "and the config (RAGATE_* variables set in this shell are carried along, RAGATE_TOKEN never), or with --write merge "
        "it into the client's own config file, keeping a .bak of it.",
    )
    sp.add_argument("--client", choices=CLIENTS, default="claude-desktop", help="the MCP client (default claude-desktop)")
    sp.add_argument("--folder", metavar="DIR", help="the folder to allow, index and keep indexed")
    sp.add_argument("--write", action="store_true", help="merge the entry into the client's config file (a .bak keeps the old one)")
    sp.add_argument(
        "--languages",
        choices=list(LANGUAGE_PRESETS),
        help="the models the config names: "
        + "; ".join(f"{name}: {preset.help}" for name, preset in LANGUAGE_PRESETS.items())
        + ". Default english; given with an existing config file, its [embedder] and [reranker] models become "
        "these (a .bak keeps the old file)",
    )
    sp.set_defaults(func=_handler("setup_commands", "cmd_init"), reads_config=False)

    sp = sub.add_parser(
        "doctor",
        help="check a setup end to end and say what to fix",
        description="Check that the config parses, the allowed roots exist, the models can be found, the index folder is "
        "writable, the index service starts and loads both models (with the engines it chose and why), and whether the HTTP "
        "token is set. Exit status 0 when everything is usable, 1 otherwise.",
    )
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=_handler("setup_commands", "cmd_doctor"))
    return parser
