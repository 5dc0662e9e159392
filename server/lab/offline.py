"""The offline commands as operations (`evaluate` and the evaluations it keeps, `calibrate`,
`calibrate --self`): each checks its request, runs its lab function over the retriever, and returns
a typed report. A pipeline that runs them in its process has them composed in (server/use_cases.py)."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

from ragate.retrieval.beir import beir_collection
from ragate.server.lab import eval_archive
from ragate.server.lab.calibrate import run_calibration
from ragate.server.lab.evaluate import evaluate
from ragate.server.lab.self_calibrate import self_calibrate
from ragate.server.requests import CalibrateRequest, EvalPlotRequest, EvalRequest, SelfCalibrateRequest
from ragate.server.retriever import Retriever
from ragate.server.schemas import CalibrateReport, EvalReport, SelfCalibrateReport


class OfflineUseCases:
    """The handlers of the offline operations, over one retriever."""

    def __init__(self, retriever: Retriever):
        self.retriever = retriever
        self.settings, self.limits = retriever.settings, retriever.settings.server
        self.state = retriever.catalog.qdrant.state  # where the latest evaluation of each collection is kept

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
        self.retriever.catalog.changed(collection)  # it indexed the dataset into it
        written_to = Path(req.out_dir) if req.out_dir else None
        eval_archive.keep(self.state, collection=collection, report=report, written_to=written_to, since=started)
        return EvalReport.model_validate(report)

    def evaluations(self) -> list[dict[str, Any]]:
        return eval_archive.latest(self.state)

    def eval_plot(self, req: EvalPlotRequest) -> str | None:
        png = eval_archive.plot(self.state, req.collection, req.name)
        return base64.b64encode(png).decode("ascii") if png is not None else None

    def calibrate(self, req: CalibrateRequest) -> CalibrateReport:
        req = req.check(self.limits)
        fields = req.model_dump(exclude={"fit_blend"})
        return CalibrateReport.model_validate(run_calibration(self.retriever, **fields, fit_blend_weights=req.fit_blend))

    def self_calibrate(self, req: SelfCalibrateRequest) -> SelfCalibrateReport:
        return SelfCalibrateReport.model_validate(self_calibrate(self.retriever, **req.model_dump()))
