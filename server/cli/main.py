"""`ragate`: index folders, search them, inspect and serve the index. Logs go to stderr; stdout
carries only results (and, under `serve`, only MCP protocol messages)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import textwrap
from typing import Any

from pydantic import ValidationError

from ragate.retrieval.errors import BadInput, RagateError
from ragate.retrieval.filters import SearchFilter
from ragate.server.config import Settings, load_settings
from ragate.server.requests import AnswerRequest, DeleteRequest, FeedbackRequest, IndexRequest, RerankRequest, SearchRequest

log = logging.getLogger("ragate")

FILTER_HELP = (
    "KEY=VALUE, repeatable: source=GLOB, source_prefix=PATH, source_type=A[,B], doc_id=ID[,ID], "
    "updated_after=ISO-DATE, updated_before=ISO-DATE, meta.FIELD=VALUE"
)


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Libraries' own chatter (download bars, load reports) stays out of the way unless asked for.
    for noisy in ("sentence_transformers", "transformers", "httpx", "huggingface_hub", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbosity < 2 else logging.DEBUG)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if verbosity < 2:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


def parse_filters(items: list[str] | None) -> SearchFilter | None:
    if not items:
        return None
    data: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise BadInput(f"--filter {item!r}: expected KEY=VALUE ({FILTER_HELP})")
        key, value = item.split("=", 1)
        key = key.strip()
        if key.startswith("meta."):
            data.setdefault("meta", {})[key[5:]] = value
        elif key in ("source_type", "doc_id"):
            data[key] = [v for v in value.split(",") if v]
        else:
            data[key] = value
    try:
        return SearchFilter.model_validate(data)
    except ValidationError as e:
        raise BadInput("--filter: " + "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())) from None


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _run(args, settings: Settings, use_case, *, need_reranker: bool = True):
    """Run one use case through the index service (started if none runs), or in this process
    against a Qdrant server; see ragate.server.service.client.open_use_cases."""
    from ragate.server.service.client import open_use_cases

    uc = open_use_cases(settings, config_path=args.config, need_reranker=need_reranker)
    try:
        return use_case(uc)
    finally:
        uc.close()


def cmd_index(args, settings: Settings) -> int:
    req = IndexRequest(paths=args.paths, collection=args.collection, prune=args.prune)
    report = _run(args, settings, lambda uc: uc.index(req, progress=not args.no_progress), need_reranker=False)
    if args.json:
        _print_json(report.model_dump())
    else:
        print(
            f"{report.collection}: {report.files_seen} files seen, {report.documents_indexed} indexed, "
            f"{report.documents_unchanged} unchanged, {report.documents_removed} removed, "
            f"{report.chunks_written} chunks written, {len(report.skipped)} skipped in {report.seconds:.1f}s"
        )
        for s in report.skipped:
            print(f"  skipped {s.path}: {s.reason}")
    return 0


def _snippet(text: str, width: int) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" …")


def _print_results(results: list, width: int) -> None:
    for r in results:
        rel = "   -  " if r.scores.relevance is None else f"{r.scores.relevance:5.3f} "
        where = r.source + (" › " + " › ".join(r.heading_path) if r.heading_path else "")
        print(f"{r.rank:>3}  {r.score:6.3f}  rel {rel} {where}")
        print("      " + _snippet(r.text, max(40, width - 8)))


def _print_timings(timings: dict[str, float], notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print("\n" + "  ".join(f"{k} {v:.0f}ms" for k, v in timings.items()), file=sys.stderr)


def cmd_search(args, settings: Settings) -> int:
    req = SearchRequest(
        query=args.query,
        top_k=args.top_k,
        filters=parse_filters(args.filter),
        rerank=not args.no_rerank,
        candidates=args.candidates,
        collection=args.collection,
        fusion=args.fusion,
        max_tokens=args.max_tokens,
        rerank_budget_ms=args.rerank_budget_ms,
    ).check(settings.server)  # before any model loads
    resp = _run(args, settings, lambda uc: uc.search(req), need_reranker=not args.no_rerank)
    if args.json:
        _print_json(resp.model_dump())
        return 0
    if not resp.results:
        print("no results")
    _print_results(resp.results, shutil.get_terminal_size((120, 20)).columns)
    _print_timings(resp.timings_ms, resp.notes)
    if resp.rerank_stage:
        r = resp.rerank_stage
        print(
            f"reranked {r.pairs}/{resp.candidates} pairs with {r.engine} on {r.device}"
            + (f" after a first pass over {r.first_pass.pairs} with {r.first_pass.engine}" if r.first_pass else "")
            + (f" (limited by {r.limited_by})" if r.cut_short else "")
            + (f", {r.cached} cached" if r.cached else ""),
            file=sys.stderr,
        )
    return 0


def cmd_answer(args, settings: Settings) -> int:
    req = AnswerRequest(
        query=args.query,
        filters=parse_filters(args.filter),
        min_score=args.min_score,
        max_passages=args.max_passages,
        collection=args.collection,
        max_tokens=args.max_tokens,
    ).check(settings.server)
    resp = _run(args, settings, lambda uc: uc.answer(req))
    if args.json:
        _print_json(resp.model_dump())
        return 0
    bound = f", false-accept bound {resp.false_accept_bound:.3f}" if resp.false_accept_bound is not None else ""
    print(
        f"{resp.status} ({resp.reason}): p_answerable {resp.p_answerable:.3f}, threshold {resp.threshold:.3f}"
        f"{bound}{'' if resp.calibrated else ' (uncalibrated)'}"
    )
    if resp.message:
        print(resp.message)
    if resp.status == "abstain":
        print(resp.suggestion)
    if resp.answer:
        print("\n" + resp.answer + "\n")
    _print_results(resp.passages or resp.nearest, shutil.get_terminal_size((120, 20)).columns)
    _print_timings(resp.timings_ms, resp.notes)
    return 0


def cmd_rerank(args, settings: Settings) -> int:
    req = RerankRequest(query=args.query, documents=args.documents, top_n=args.top_n).check(settings.server)
    resp = _run(args, settings, lambda uc: uc.rerank(req))
    if args.json:
        _print_json(resp.model_dump())
        return 0
    for item in resp.results:
        print(f"{item.index:>3}  {item.relevance_score:5.3f}  {_snippet(item.document or '', 100)}")
    return 0


def cmd_stats(args, settings: Settings) -> int:
    stats = _run(args, settings, lambda uc: uc.stats(), need_reranker=False)
    if args.json:
        _print_json(stats)
    else:
        print(f"backend: {stats['backend']} at {stats['location']}")
        for name, c in stats["collections"].items():
            if "error" in c:
                print(f"  {name}: {c['error']}")
            else:
                print(f"  {name}: {c['chunks']} chunks from {c['documents']} sources (embedder {c.get('embedder')})")
        if not stats["collections"]:
            print("  no collections yet: run `ragate index PATH`")
        em = stats["embedder"]
        print(f"embedder: {em['model']}" + (f" ({em['engine']} on {em['device']})" if em["engine"] else ""))
        rr = stats["reranker"]
        print(f"reranker: {rr['model']}" + (f" ({rr['engine']} on {rr['device']})" if rr["engine"] else ""))
        if fp := rr.get("first_pass"):
            engine = f" ({fp['engine']} on {fp['device']})" if fp["engine"] else ""
            print(f"  first pass: {fp['model']}{engine}; the reranker reads its top {fp['keep']}")
            if fp["error"]:
                print(f"  first pass unavailable, the reranker reads the whole pool: {fp['error']}")
    return 0


def cmd_delete(args, settings: Settings) -> int:
    if args.drop_collection:
        result: dict[str, Any] = {"dropped": _run(args, settings, lambda uc: uc.drop_collection(args.collection), need_reranker=False)}
    else:
        f = parse_filters(args.filter)
        if not args.id and f is None:
            raise BadInput("delete needs --id CHUNK_ID, --filter KEY=VALUE or --drop-collection")
        req = DeleteRequest(ids=args.id, filters=f, collection=args.collection)
        result = _run(args, settings, lambda uc: uc.delete(req), need_reranker=False).model_dump()
    _print_json(result) if args.json else print(", ".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def cmd_feedback(args, settings: Settings) -> int:
    req = FeedbackRequest(query=args.query, chunk_id=args.chunk_id, useful=args.useful, note=args.note, collection=args.collection).check(
        settings.server
    )
    result = _run(args, settings, lambda uc: uc.feedback(req), need_reranker=False)
    _print_json(result.model_dump()) if args.json else print(f"recorded ({result.entries} verdicts stored)")
    return 0


def cmd_eval(args, settings: Settings) -> int:
    try:
        import ir_measures  # noqa: F401
    except ImportError:
        raise BadInput("ragate eval needs the [eval] extra: pip install 'ragate[eval]'") from None
    options = {
        "dataset_dir": os.path.abspath(args.dataset),
        "variants": args.variants.split(",") if args.variants else None,
        "max_queries": args.max_queries,
        "candidates": args.candidates,
        "out_dir": os.path.abspath(args.out),
        "offtopic_queries": args.offtopic_queries and os.path.abspath(args.offtopic_queries),
    }
    result = _run(args, settings, lambda uc: uc.evaluate(options))
    if args.json:
        _print_json(result)
    else:
        print(f"{result['dataset']}: {result['queries']} queries")
        for v, m in result["variants"].items():
            print(f"  {v:<22} " + "  ".join(f"{k} {x:.3f}" for k, x in m.items()))
        for d in result.get("rerank_vs_hybrid", {}).get("differences", {}).values():
            print(f"  {d['summary']}")
        for label, g in result.get("gate", {}).items():
            if not (isinstance(g, dict) and "threshold" in g):
                continue
            print(
                f"  gate {label} t={g['threshold']:.3f}: false-accept {g['false_accept_rate']:.3f}, false-abstain {g['false_abstain_rate']:.3f}"
            )
    return 0


def cmd_calibrate(args, settings: Settings) -> int:
    from pathlib import Path

    from ragate.server.config import write_setting
    from ragate.server.feedback import feedback_path

    if sum(map(bool, (args.dataset, args.labels, args.from_feedback))) != 1:
        raise BadInput("calibrate needs exactly one of --dataset DIR, --labels FILE or --from-feedback")
    if args.offtopic_queries and not args.dataset:
        raise BadInput("--offtopic-queries needs --dataset: the answerable and near-topic pools come from its qrels")
    if not (0 < args.max_false_accept < 1 and 0 < args.confidence < 1):
        raise BadInput("--max-false-accept and --confidence must be between 0 and 1")
    if args.fit_blend and args.labels:
        raise BadInput("--fit-blend needs --dataset or --from-feedback: its labels must name the documents or chunks they judge")
    if args.fit_blend:
        try:
            import ir_measures  # noqa: F401
        except ImportError:
            raise BadInput("--fit-blend needs the [eval] extra: pip install 'ragate[eval]'") from None
    labels = args.labels and os.path.abspath(args.labels)
    if args.from_feedback:
        labels = str(feedback_path(os.path.abspath(settings.qdrant.path)))
        if not os.path.exists(labels):
            raise BadInput(f"no feedback stored yet at {labels}; agents add it with the feedback tool")
    options = {
        "dataset": args.dataset and os.path.abspath(args.dataset),
        "labels": labels,
        "split": args.split,
        "candidates": args.candidates,
        "max_queries": args.max_queries,
        "method": args.method,
        "target_precision": args.target_precision,
        "offtopic_queries": args.offtopic_queries and os.path.abspath(args.offtopic_queries),
        "max_false_accept": args.max_false_accept,
        "confidence": args.confidence,
        "fit_blend_weights": args.fit_blend,
    }
    report = _run(args, settings, lambda uc: uc.calibrate(options))
    if args.write_config:
        target = Path(args.config or "config.toml")
        written = []
        if report.get("threshold") is not None:
            write_setting(target, "gate", "min_score", report["threshold"])
            written.append("[gate] min_score")
        if "blend" in report:
            for key in ("w_relevance", "w_retrieval"):
                write_setting(target, "blend", key, report["blend"]["chosen"][key])
            written.append("[blend] w_relevance, w_retrieval")
        if written:
            report["written_to"], report["written"] = str(target), written
            log.warning(
                "wrote %s to %s; a running index service keeps the old values until `ragate service --stop`", ", ".join(written), target
            )
    if args.json:
        _print_json(report)
    else:
        print("\n".join(f"{k}: {v}" for k, v in report.items() if k != "blend"))
        if "blend" in report:
            _print_blend_fit(report["blend"])
    return 0


def _print_blend_fit(fit: dict[str, Any]) -> None:
    """The grid as a table of mean nDCG@10 (rows w_relevance, columns w_retrieval), then the choice."""
    cells = {(g["w_relevance"], g["w_retrieval"]): g["ndcg@10"] for g in fit["grid"]}
    retrieval = sorted({wt for _, wt in cells})
    print(f"blend: mean nDCG@10 over {fit['queries']} labelled queries, {fit['candidates']} candidates each")
    print("  w_relevance \\ w_retrieval " + "".join(f"{wt:>8g}" for wt in retrieval))
    for wr in sorted({wr for wr, _ in cells}):
        print(f"  {wr:<26g}" + "".join(f"{cells[(wr, wt)]:>8.4f}" for wt in retrieval))
    c, b = fit["configured"], fit["chosen"]
    print(f"  configured w_relevance {c['w_relevance']:g}, w_retrieval {c['w_retrieval']:g}: {c['ndcg@10']:.4f}")
    print(f"  chosen     w_relevance {b['w_relevance']:g}, w_retrieval {b['w_retrieval']:g}: {b['ndcg@10']:.4f}")


def cmd_tune(args, settings: Settings) -> int:
    from pathlib import Path

    from ragate.server.config import write_setting
    from ragate.server.lab.tune import run_tune

    try:
        import datasets  # noqa: F401
    except ImportError:
        raise BadInput("ragate tune needs the [tune] extra: pip install 'ragate[tune]'") from None
    if sum(map(bool, (args.dataset, args.pairs, args.from_feedback, args.synthesize))) != 1:
        raise BadInput("tune needs exactly one of --dataset DIR, --pairs FILE, --from-feedback or --synthesize N")
    if args.distill_only and not args.distill_layers:
        raise BadInput("--distill-only needs --distill-layers K")
    if args.distill_layers is not None and args.distill_layers < 1:
        raise BadInput("--distill-layers must be at least 1")
    options = {
        "dataset": args.dataset and os.path.abspath(args.dataset),
        "pairs": args.pairs and os.path.abspath(args.pairs),
        "from_feedback": args.from_feedback,
        "synthesize": args.synthesize,
        "base": args.base,
        "collection": args.collection,
        "epochs": args.epochs,
        "max_queries": args.max_queries,
        "max_minutes": args.max_minutes,
        "max_steps": args.max_steps,
        "output": args.output,
        "device": args.device,
        "batch_size": args.batch_size,
        "progress": not args.no_progress,
        "distill_layers": args.distill_layers,
        "distill_only": args.distill_only,
    }
    # The index is read through its service; the training itself runs here, in this process. The
    # trainer prints its logs and bars on stdout, which carries only the result: they go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        report = _run(args, settings, lambda uc: run_tune(uc, settings, **options), need_reranker=False)
    student = report.get("distilled")
    if args.activate:
        target = Path(args.config or "config.toml")
        if "after" in report:
            write_setting(target, "reranker", "model", report["model"])
        if student:
            write_setting(target, "reranker", "first_pass_model", student["model"])
        report["activated_in"] = str(target)
    if args.json:
        _print_json(report)
        return 0
    if "after" in report:
        b, a = report["before"], report["after"]
        print(f"tuned reranker written to {report['model']} (card: README.md there)")
        print(
            f"  {report['train_pairs']} training pairs, {report['held_out_queries']} held-out queries, "
            f"{report['training']['train_seconds']:.0f}s"
        )
        for k in ("ndcg@10", "answer_rate", "offtopic_accept_rate"):
            print(f"  held-out {k:<22} {b[k]:.4f} -> {a[k]:.4f}")
    if student:
        h = student["held_out"]
        print(f"{student['layers']}-layer first-pass model written to {student['model']} (teacher {student['teacher']})")
        print(f"  {student['train_pairs']} training pairs, {student['training']['train_seconds']:.0f}s")
        print(f"  held-out nDCG@10 teacher {h['ndcg@10']['teacher']}, student {h['ndcg@10']['student']}")
        print(f"  held-out Spearman rho with the teacher {h['spearman_vs_teacher']}")
    if args.activate:
        keys = " and ".join(k for k, on in (("model", "after" in report), ("first_pass_model", bool(student))) if on)
        print(
            f"[reranker] {keys} set in {report['activated_in']}. Stop the running index service (ragate service --stop) so it loads "
            "the new model"
            + (
                ", then re-run `ragate calibrate` (--dataset, --labels or --from-feedback): the old calibration belongs to the old reranker."
                if "after" in report
                else "."
            )
        )
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from ragate.server.mcp.serve import serve

    serve(settings, http=args.http, host=args.host, port=args.port, watch=args.watch, config_path=args.config)
    return 0


def cmd_service(args, settings: Settings) -> int:
    if args.stop:
        from ragate.server.service.client import ServiceClient

        print("stopped" if ServiceClient(settings).stop_service() else "no index service running")
        return 0
    from ragate.server.service.process import run_service

    return run_service(settings, watch=args.watch)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragate",
        description="Retrieval agents can trust: hybrid (dense + BM25) search over Qdrant, cross-encoder "
        "reranking, calibrated abstention; as a CLI and an MCP server.",
        epilog="Every config key can be overridden by RAGATE_<SECTION>_<KEY>, e.g. RAGATE_RERANKER_MODEL=path/to/model.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present, else built-in defaults)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv for library logs)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser, json_flag: bool = True) -> None:
        sp.add_argument("--collection", "-c", help="collection (corpus) name; default [index] collection")
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
    common(sp)
    sp.set_defaults(func=cmd_index)

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
    sp.set_defaults(func=cmd_search)

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
    sp.set_defaults(func=cmd_answer)

    sp = sub.add_parser(
        "rerank",
        help="score your own documents against a query",
        description="The rerank tool from the command line: calibrated relevance of each DOCUMENT, best first.",
    )
    sp.add_argument("query")
    sp.add_argument("documents", nargs="+", metavar="DOCUMENT", help="document text (repeatable)")
    sp.add_argument("--top-n", type=int, metavar="N", help="print only the best N")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=cmd_rerank)

    sp = sub.add_parser("stats", help="collections, counts, models")
    common(sp)
    sp.set_defaults(func=cmd_stats)

    sp = sub.add_parser("delete", help="delete chunks by id or filter, or a whole collection")
    sp.add_argument("--id", action="append", metavar="CHUNK_ID", help="chunk id (repeatable)")
    sp.add_argument("--filter", "-f", action="append", metavar="KEY=VALUE", help=FILTER_HELP)
    sp.add_argument("--drop-collection", action="store_true", help="delete the whole collection")
    common(sp)
    sp.set_defaults(func=cmd_delete)

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
    sp.set_defaults(func=cmd_feedback)

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
    sp.add_argument("--no-progress", action="store_true")
    sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser(
        "calibrate",
        help="fit calibrated relevance and choose the gate threshold",
        description="Fit Platt scaling (or isotonic) of reranker logits on labelled pairs, report expected "
        "calibration error before/after, and with --target-precision pick the lowest threshold "
        "reaching that precision on held-out pairs. With --offtopic-queries, also fit the gate's "
        "answerability model and pick the lowest threshold whose Clopper-Pearson bound on the "
        "false-accept rate, at --confidence, is at most --max-false-accept.",
    )
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
    sp.set_defaults(func=cmd_calibrate)

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
    sp.set_defaults(func=cmd_tune)

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
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser(
        "service",
        help="run the index service in the foreground (clients start it on their own)",
        description="The one process that owns an index directory ([qdrant] path): store, models, caches, reranker "
        "queue and folder watcher. `ragate serve` and the CLI commands connect to it over a Unix socket in that "
        "directory and start it when none runs; it exits after [service] idle_timeout_s without calls.",
    )
    sp.add_argument("--watch", action="append", metavar="PATH", help="keep this folder indexed (repeatable)")
    sp.add_argument("--stop", action="store_true", help="ask the running service to exit and return")
    sp.set_defaults(func=cmd_service)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        settings = load_settings(args.config)
        code = args.func(args, settings)
        sys.stdout.flush()  # here, so a reader that went away is met below and not at exit
        return code
    except RagateError as e:
        print(f"ragate: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ragate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader closed early (`ragate search ... | head`): stop quietly, as other commands do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit flush then goes nowhere
        return 141  # 128 + SIGPIPE, what a shell reports for a command its pipe reader cut off


if __name__ == "__main__":
    sys.exit(main())
