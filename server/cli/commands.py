"""The CLI's commands over the index's use cases (the same request models as the MCP tools), and
`serve` and `service`, which run the MCP server and the index service."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from ragate.retrieval.errors import BadInput
from ragate.retrieval.filters import SearchFilter
from ragate.server.cli.output import (
    print_index_report,
    print_json,
    print_results,
    print_timings,
    self_calibration_lines,
    skip_counts,
    snippet,
    terminal_width,
)
from ragate.server.cli.parser import FILTER_HELP
from ragate.server.config import Settings
from ragate.server.mcp.serve import serve
from ragate.server.ops import (
    ANSWER,
    DELETE,
    DROP_COLLECTION,
    ENGINES,
    FEEDBACK,
    INDEX,
    MEASURE_ENGINES,
    METRICS,
    RERANK,
    SEARCH,
    STATS,
    UseCases,
)
from ragate.server.requests import (
    AnswerRequest,
    CollectionRequest,
    DeleteRequest,
    FeedbackRequest,
    IndexRequest,
    RerankRequest,
    SearchRequest,
)
from ragate.server.service.client import ServiceClient
from ragate.server.service.process import run_service
from ragate.server.settings_loader import describe_config
from ragate.server.tracing import flush as flush_traces
from ragate.server.use_cases import open_use_cases
from ragate.server.validation import validation_message

T = TypeVar("T")


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
        elif key in ("source_type", "doc_id", "lang"):
            data[key] = [v for v in value.split(",") if v]
        else:
            data[key] = value
    try:
        return SearchFilter.model_validate(data)
    except ValidationError as e:
        raise BadInput("--filter: " + validation_message(e)) from None


def read_collections(flag: str | None) -> dict[str, Any]:
    """`-c NAME`, or `-c A,B` to read several collections as one pool (search and answer)."""
    names = [n for n in (flag or "").split(",") if n]
    return {"collections": names} if len(names) > 1 else {"collection": flag}


def run_use_case(args: argparse.Namespace, settings: Settings, use_case: Callable[[UseCases], T], *, need_reranker: bool = True) -> T:
    """Run one use case through the index service (started if none runs), or in this process
    against a Qdrant server; see ragate.server.use_cases.open_use_cases."""
    uc = open_use_cases(settings, config_path=args.config, need_reranker=need_reranker)
    try:
        return use_case(uc)
    finally:
        uc.close()


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    req = IndexRequest(paths=args.paths, collection=args.collection, prune=args.prune, progress=not args.no_progress)
    t0 = time.perf_counter()
    report = run_use_case(args, settings, lambda uc: uc.run(INDEX, req), need_reranker=False)
    if args.json:
        print_json(report.model_dump())
    else:
        print_index_report(report, verbose=args.verbose > 0 or args.list_skipped, wall_s=time.perf_counter() - t0)
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    req = SearchRequest(
        query=args.query,
        top_k=args.top_k,
        filters=parse_filters(args.filter),
        rerank=not args.no_rerank,
        candidates=args.candidates,
        **read_collections(args.collection),
        fusion=args.fusion,
        max_tokens=args.max_tokens,
        rerank_budget_ms=args.rerank_budget_ms,
    ).check(settings.server)  # before any model loads
    resp = run_use_case(args, settings, lambda uc: uc.run(SEARCH, req), need_reranker=not args.no_rerank)
    if args.json:
        print_json(resp.model_dump())
        return 0
    if not resp.results:
        print("no results")
    print_results(resp.results, terminal_width())
    print_timings(resp.timings_ms, resp.notes)
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


def cmd_answer(args: argparse.Namespace, settings: Settings) -> int:
    req = AnswerRequest(
        query=args.query,
        filters=parse_filters(args.filter),
        min_score=args.min_score,
        max_passages=args.max_passages,
        **read_collections(args.collection),
        max_tokens=args.max_tokens,
    ).check(settings.server)
    resp = run_use_case(args, settings, lambda uc: uc.run(ANSWER, req))
    if args.json:
        print_json(resp.model_dump())
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
    print_results(resp.passages or resp.nearest, terminal_width())
    print_timings(resp.timings_ms, resp.notes)
    return 0


def cmd_rerank(args: argparse.Namespace, settings: Settings) -> int:
    req = RerankRequest(query=args.query, documents=args.documents, top_n=args.top_n).check(settings.server)
    resp = run_use_case(args, settings, lambda uc: uc.run(RERANK, req))
    if args.json:
        print_json(resp.model_dump())
        return 0
    for item in resp.results:
        print(f"{item.index:>3}  {item.relevance_score:5.3f}  {snippet(item.document or '', 100)}")
    return 0


def cmd_metrics(args: argparse.Namespace, settings: Settings) -> int:
    print(run_use_case(args, settings, lambda uc: uc.run(METRICS), need_reranker=False), end="")
    return 0


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = run_use_case(args, settings, lambda uc: uc.run(STATS), need_reranker=False)
    if args.json:
        print_json({"config": describe_config(args.config), **stats})
    else:
        print(f"config: {describe_config(args.config)}")
        print(f"index: {stats['backend']} at {stats['location']}")
        for name, c in stats["collections"].items():
            if "error" in c:
                print(f"  {name}: {c['error']}")
            else:
                print(f"  {name}: {c['chunks']} chunks from {c['documents']} sources (embedder {c.get('embedder')})")
                cal = c.get("calibration") or {}
                print(f"    calibration: {cal.get('source', 'none')}" + (f", fitted on {cal['fitted_on']}" if cal.get("fitted_on") else ""))
                for source, why in (c.get("calibration_set_aside") or {}).items():
                    print(f"    WARNING the {source} calibration is set aside: {why}")
                if langs := c.get("languages"):
                    print("    languages: " + ", ".join(f"{x['lang'] or 'undetected'} {x['share']:.0%}" for x in langs[:6]))
                elif not c.get("records_lang"):
                    print("    languages: not recorded (indexed before they were); drop the collection and index it again to record them")
                if warning := c.get("language_warning"):
                    print(f"    WARNING {warning}")
                if rw := c.get("relevance_weight"):
                    print(f"    reranker weight {rw['weight']:g}: {rw['why']}")
                if (last := c.get("last_index")) and last["skipped_by_kind"]:
                    print(
                        f"    last indexed {last['at']}: {last['files_seen']} files seen, not indexed: {skip_counts(last['skipped_by_kind'])}"
                    )
            for line in self_calibration_lines(stats, name):
                print(f"    {line}")
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


def cmd_engines(args: argparse.Namespace, settings: Settings) -> int:
    report = run_use_case(args, settings, lambda uc: uc.run(MEASURE_ENGINES if args.measure else ENGINES))
    if args.json:
        print_json(report)
        return 0
    for label, e in report.items():
        if "error" in e:
            print(f"{label}: not loaded: {e['error']}")
            continue
        pending = " (measuring in the background)" if e["engine_pending"] else ""
        print(f"{label}: {e['model']} runs on {e['engine']} ({e['device']}){pending}")
        print(f"  {e['engine_reason']}")
        timing = ("seconds", "speedup", "low", "high", "rounds")
        for name, m in (e["measured"] or {}).items():
            # The speed-up over PyTorch with its interval; an engine rejected for accuracy is not timed.
            speed = f"x{m['speedup']:.2f} [{m['low']:.2f}-{m['high']:.2f}] {m['rounds']} rounds" if "speedup" in m else "not timed"
            figures = ", ".join(f"{k} {v}" for k, v in m.items() if k not in timing)
            print(f"  {name:<14} {speed:<28} {figures}")
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    if args.drop_collection:
        result: dict[str, Any] = run_use_case(
            args, settings, lambda uc: uc.run(DROP_COLLECTION, CollectionRequest(collection=args.collection)), need_reranker=False
        ).model_dump()
    else:
        f = parse_filters(args.filter)
        if not args.id and f is None:
            raise BadInput("delete needs --id CHUNK_ID, --filter KEY=VALUE or --drop-collection")
        req = DeleteRequest(ids=args.id, filters=f, collection=args.collection)
        result = run_use_case(args, settings, lambda uc: uc.run(DELETE, req), need_reranker=False).model_dump()
    print_json(result) if args.json else print(", ".join(f"{k}: {v}" for k, v in result.items()))
    return 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    req = FeedbackRequest(query=args.query, chunk_id=args.chunk_id, useful=args.useful, note=args.note, collection=args.collection).check(
        settings.server
    )
    result = run_use_case(args, settings, lambda uc: uc.run(FEEDBACK, req), need_reranker=False)
    print_json(result.model_dump()) if args.json else print(f"recorded ({result.entries} verdicts stored)")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    serve(settings, http=args.http, host=args.host, port=args.port, watch=args.watch, config_path=args.config)
    return 0


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from ragate.server.ui.local import run_ui  # the page's server only when asked for

    run_ui(settings, port=args.port, open_browser=args.open, config_path=args.config)
    return 0


def cmd_service(args: argparse.Namespace, settings: Settings) -> int:
    if args.stop:
        state, answer = ServiceClient(settings).stop_service()
        if state == "none":
            print("no index service running")
        elif state == "stopping":
            print(f"the index service (pid {answer.get('pid')}) is stopping; its calls in flight are cancelled")
        else:
            cancelled = answer.get("cancelled", 0)
            print(f"stopped (pid {answer['pid']})" + (f"; {cancelled} call(s) in flight were cancelled" if cancelled else ""))
        return 0
    code = run_service(settings, watch=args.watch)
    # The index is closed and its lock released (or, past the stop's grace, both go with the
    # process). An engine measurement still running in native
    # threads would abort the interpreter's own exit ("terminate called without an active
    # exception"); it is abandoned here, and measured again on the next start.
    flush_traces()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
