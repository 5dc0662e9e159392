"""The CLI's offline commands: `eval`, `calibrate` (through the index service, like every use case)
and `tune` (trained in this process over the index's use cases). Each builds its typed request
from the flags; the request refuses what cannot run, before any work."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import sys
from pathlib import Path

from ragate.retrieval.errors import BadInput
from ragate.server.cli.commands import run_use_case
from ragate.server.cli.output import print_blend_fit, print_json
from ragate.server.config import Settings
from ragate.server.config_writer import write_setting
from ragate.server.lab.blend_fit import blend_pair
from ragate.server.lab.leaderboard import markdown as leaderboard_markdown
from ragate.server.lab.tune import run_tune
from ragate.server.ops import CALIBRATE, EVALUATE, SELF_CALIBRATE
from ragate.server.requests import CalibrateRequest, EvalRequest, SelfCalibrateRequest, TuneRequest
from ragate.server.schemas import CalibrateReport, EvalReport, SelfCalibrateReport, TuneReport

log = logging.getLogger("ragate")


def require_extra(module: str, extra: str, what: str) -> None:
    """Optional extras are looked up, not imported: the command says which one to install."""
    if importlib.util.find_spec(module) is None:
        raise BadInput(f"{what} needs the [{extra}] extra: pip install 'ragate[{extra}]'")


def _dump(report: EvalReport | CalibrateReport | SelfCalibrateReport | TuneReport) -> dict:
    """The report as printed: figures it has no value for are left out, except a threshold asked for
    and not reached, which is said as null."""
    out = report.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(report, CalibrateReport) and report.target_precision is not None:
        out["threshold"] = report.threshold
    return out


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    require_extra("ir_measures", "eval", "ragate eval")
    req = EvalRequest(
        dataset=args.dataset,
        variants=args.variants.split(",") if args.variants else None,
        max_queries=args.max_queries,
        candidates=args.candidates,
        out_dir=args.out,
        offtopic_queries=args.offtopic_queries,
        progress=not args.no_progress,
        rerankers=[x for x in args.rerankers.split(",") if x.strip()] if args.rerankers else None,
    ).check(settings.server)
    report = run_use_case(args, settings, lambda uc: uc.run(EVALUATE, req))
    if args.json:
        print_json(_dump(report))
        return 0
    print(f"{report.dataset}: {report.queries} queries")
    for v, m in report.variants.items():
        print(f"  {v:<22} " + "  ".join(f"{k} {x:.3f}" for k, x in m.items()))
    for summary in report.differences():
        print(f"  {summary}")
    for label, g in (report.gate.rates() if report.gate else {}).items():
        print(f"  gate {label} t={g.threshold:.3f}: false-accept {g.false_accept_rate:.3f}, false-abstain {g.false_abstain_rate:.3f}")
    if report.rerankers:
        print()
        print(leaderboard_markdown(report.rerankers, report.dataset), end="")
    return 0


def cmd_self_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    req = SelfCalibrateRequest(
        collection=args.collection,
        questions=args.questions,
        offtopic=args.offtopic,
        max_false_accept=args.max_false_accept,
        confidence=args.confidence,
        progress=not args.no_progress,
    )
    report = run_use_case(args, settings, lambda uc: uc.run(SELF_CALIBRATE, req))
    if args.json:
        print_json(_dump(report))
        return 0
    g, r, b = report.gate, report.relevance, report.blend
    print(
        f"collection {report.collection}: self-calibrated in {report.seconds:.0f}s{' (stopped at max_minutes)' if report.stopped_early else ''}"
    )
    print(
        f"  questions: {report.questions_made} made, {report.answerable} retrieved their own document "
        f"({report.source_retrieved:.0%}); off-topic: {report.offtopic_kept} of {report.offtopic_asked} kept"
    )
    print(f"  relevance: Platt a={r['a']:g} b={r['b']:g}, ECE {r['ece_sigmoid']:.3f} -> {r['ece_calibrated']:.3f} on {r['pairs']} pairs")
    print(
        f"  gate: threshold {g['threshold']:.3f}, false-accept bound {g['false_accept_bound']:.3f} "
        f"(target {g['max_false_accept']}, confidence {g['confidence']}), false-abstain {g['false_abstain_rate']:.3f}"
    )
    c, ch = b["configured"], b["chosen"]
    print(
        f"  blend: w_relevance {ch['w_relevance']:g}, w_retrieval {ch['w_retrieval']:g} (nDCG@10 {ch['ndcg@10']:.3f}; "
        f"configured {c['w_relevance']:g}/{c['w_retrieval']:g}: {c['ndcg@10']:.3f})"
    )
    print(f"  reranker: {blend_pair(b).evidence()}")
    print(f"  {report.note}")
    print(f"  saved to {report.saved_to}")
    return 0


def cmd_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    if args.self_calibrate:
        if args.dataset or args.labels or args.from_feedback:
            raise BadInput("--self takes no labels: leave out --dataset, --labels and --from-feedback")
        return cmd_self_calibrate(args, settings)
    if args.fit_blend:
        require_extra("ir_measures", "eval", "--fit-blend")
    req = CalibrateRequest(
        dataset=args.dataset,
        labels=args.labels,
        from_feedback=args.from_feedback,
        collection=args.collection,
        split=args.split,
        candidates=args.candidates,
        max_queries=args.max_queries,
        method=args.method,
        target_precision=args.target_precision,
        offtopic_queries=args.offtopic_queries,
        max_false_accept=args.max_false_accept,
        confidence=args.confidence,
        fit_blend=args.fit_blend,
        progress=not args.no_progress,
    ).check(settings.server)
    report = run_use_case(args, settings, lambda uc: uc.run(CALIBRATE, req))
    if args.write_config:
        target = Path(args.config or "config.toml")
        written = []
        if report.threshold is not None:
            write_setting(target, "gate", "min_score", report.threshold)
            written.append("[gate] min_score")
        if report.blend is not None:
            write_setting(target, "blend", "w_relevance", report.blend.chosen.w_relevance)
            write_setting(target, "blend", "w_retrieval", report.blend.chosen.w_retrieval)
            written.append("[blend] w_relevance, w_retrieval")
        if written:
            report.written_to, report.written = str(target), written
            log.warning(
                "wrote %s to %s; a running index service keeps the old values until `ragate service --stop`", ", ".join(written), target
            )
    if args.json:
        print_json(_dump(report))
        return 0
    print("\n".join(f"{k}: {v}" for k, v in _dump(report).items() if k != "blend"))
    if report.blend is not None:
        print_blend_fit(report.blend)
    return 0


def cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    require_extra("datasets", "tune", "ragate tune")
    req = TuneRequest(
        dataset=args.dataset,
        pairs=args.pairs,
        from_feedback=args.from_feedback,
        synthesize=args.synthesize,
        base=args.base,
        collection=args.collection,
        epochs=args.epochs,
        max_queries=args.max_queries,
        max_minutes=args.max_minutes,
        max_steps=args.max_steps,
        output=args.output,
        device=args.device,
        batch_size=args.batch_size,
        progress=not args.no_progress,
        distill_layers=args.distill_layers,
        distill_only=args.distill_only,
    ).check(settings.server)
    # The index is read through its service; the training itself runs here, in this process. The
    # trainer prints its logs and bars on stdout, which carries only the result: they go to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        report = run_use_case(args, settings, lambda uc: run_tune(uc, settings, req), need_reranker=False)
    student = report.distilled
    tuned = report.after is not None
    if args.activate:
        target = Path(args.config or "config.toml")
        if tuned:
            write_setting(target, "reranker", "model", report.model)
        if student:
            write_setting(target, "reranker", "first_pass_model", student["model"])
        report.activated_in = str(target)
    if args.json:
        print_json(_dump(report))
        return 0
    print_tune(report)
    return 0


def print_tune(report: TuneReport) -> None:
    extra = report.model_extra or {}
    if report.after is not None and report.before is not None:
        b, a = report.before, report.after
        print(f"tuned reranker written to {report.model} (card: README.md there)")
        train_s = (report.training or {}).get("train_seconds", 0)
        print(f"  {extra.get('train_pairs')} training pairs, {extra.get('held_out_queries')} held-out queries, {train_s:.0f}s")
        for k in ("ndcg@10", "answer_rate", "offtopic_accept_rate"):
            print(f"  held-out {k:<22} {b[k]:.4f} -> {a[k]:.4f}")
    if student := report.distilled:
        h = student["held_out"]
        print(f"{student['layers']}-layer first-pass model written to {student['model']} (teacher {student['teacher']})")
        print(f"  {student['train_pairs']} training pairs, {student['training']['train_seconds']:.0f}s")
        print(f"  held-out nDCG@10 teacher {h['ndcg@10']['teacher']}, student {h['ndcg@10']['student']}")
        print(f"  held-out Spearman rho with the teacher {h['spearman_vs_teacher']}")
    if report.activated_in:
        tuned = report.after is not None
        keys = " and ".join(k for k, on in (("model", tuned), ("first_pass_model", bool(report.distilled))) if on)
        print(
            f"[reranker] {keys} set in {report.activated_in}. Stop the running index service (ragate service --stop) so it loads "
            "the new model"
            + (
                ", then re-run `ragate calibrate` (--dataset, --labels or --from-feedback): the old calibration belongs to the old reranker."
                if tuned
                else "."
            )
        )
