"""The operations of one index run in this process (`LocalUseCases`: the pipeline with the offline
commands, eval and calibrate, composed on; what the index service serves and what runs in-process
against a Qdrant server), and `open_use_cases`, which picks that or the index service's client.
The operations themselves are named once, in server/ops.py."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from ragate.retrieval.beir import beir_collection
from ragate.server.config import Settings
from ragate.server.lab import eval_archive
from ragate.server.lab.calibrate import run_calibration
from ragate.server.lab.evaluate import evaluate
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.model_loader import Models
from ragate.server.ops import UseCases
from ragate.server.pipeline import Pipeline
from ragate.server.requests import CalibrateRequest, EvalPlotRequest, EvalRequest, SelfCalibrateRequest
from ragate.server.schemas import CalibrateReport, EvalReport, SelfCalibrateReport
from ragate.server.service.client import ServiceClient


class LocalUseCases(Pipeline):
    """Every use case in this process: the pipeline's, and the offline commands over it."""

    def evaluate(self, req: EvalRequest) -> EvalReport:
        req = req.check(self.limits)
        started = time.time()
        report = evaluate(
            self.retriever,
            req.dataset,
            variants=req.variants,
            max_queries=req.max_queries,
            candidates=req.candidates,
            collection=req.collection,
            out_dir=req.out_dir,
            progress=req.progress,
            offtopic_queries=req.offtopic_queries,
            rerankers=req.rerankers,
        )
        collection = req.collection or beir_collection(req.dataset)
        written_to = Path(req.out_dir) if req.out_dir else None
        eval_archive.keep(self.qdrant.state, collection=collection, report=report, written_to=written_to, since=started)
        return EvalReport.model_validate(report)

    def evaluations(self) -> list[dict[str, Any]]:
        return eval_archive.latest(self.qdrant.state)

    def eval_plot(self, req: EvalPlotRequest) -> str | None:
        png = eval_archive.plot(self.qdrant.state, req.collection, req.name)
        return base64.b64encode(png).decode("ascii") if png is not None else None

    def calibrate(self, req: CalibrateRequest) -> CalibrateReport:
        req = req.check(self.limits)
        fields = req.model_dump(exclude={"fit_blend"})
        return CalibrateReport.model_validate(run_calibration(self.retriever, **fields, fit_blend_weights=req.fit_blend))

    def self_calibrate(self, req: SelfCalibrateRequest) -> SelfCalibrateReport:
        return SelfCalibrateReport.model_validate(self_calibrate(self.retriever, **req.model_dump()))


def open_use_cases(
    settings: Settings,
    *,
    config_path: str | None = None,
    deadline_s: float | None = None,
    need_reranker: bool = True,
    background: bool = False,
) -> UseCases:
    """The index's use cases: through its service on the embedded store; in this process against a
    Qdrant server (`[qdrant] url`), where the server is the shared owner and no service is needed.
    `deadline_s` bounds each call's work (the tool timeout); `background` loads a local pipeline's
    models in a thread (a server answers its handshake first). A caller that reranks nothing
    (`need_reranker` false: index, stats, delete, feedback, tune's mining) need not agree with the
    service on the reranker, the gate or the LLM."""
    if not settings.qdrant.url:
        # The socket read waits a little longer than the deadline, for the service's own answer.
        timeout_s = None if deadline_s is None else deadline_s + 10
        unchecked = () if need_reranker else ("reranker.", "gate.", "llm.")
        return ServiceClient(settings, config_path=config_path, timeout_s=timeout_s, deadline_s=deadline_s, unchecked=unchecked)
    models = Models(settings)
    if background:
        models.load_in_background()
    else:
        models.load(need_reranker=need_reranker)
    return LocalUseCases(settings, models)
