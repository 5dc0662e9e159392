"""The pages: each reads the use cases (the index service's client, or the pipeline in this
process) off the event loop and renders a template. What a number means comes from views.py."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from importlib import resources
from typing import Any, TypeVar

import anyio.to_thread
import jinja2
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ragate.retrieval.errors import NotFound, RagateError
from ragate.retrieval.filters import SearchFilter
from ragate.server.ops import (
    ANSWER,
    DOCUMENTS,
    ENGINES,
    EVAL_PLOT,
    EVALUATIONS,
    FEEDBACK,
    RECENT_CALLS,
    RESOURCE,
    SEARCH,
    STATS,
    Op,
    Q,
    R,
    UseCases,
)
from ragate.server.recent_calls import calling_as
from ragate.server.requests import AnswerRequest, DocumentsRequest, EvalPlotRequest, FeedbackRequest, ResourceRequest, SearchRequest
from ragate.server.schemas import AnswerResponse, SearchResponse
from ragate.server.ui import views
from ragate.server.ui.sessions import Session
from ragate.server.validation import validation_message

log = logging.getLogger(__name__)
T = TypeVar("T")
_HERE = resources.files("ragate.server.ui")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(_HERE / "templates")),
    autoescape=True,
)
STATIC = {"ui.css": "text/css", "ui.js": "text/javascript", "favicon.svg": "image/svg+xml"}


def render(template: str, context: dict[str, Any], session: Session | None, *, status: int = 200) -> HTMLResponse:
    body = _TEMPLATES.get_template(template).render(**{"page": template.removesuffix(".html"), **context}, session=session)
    return HTMLResponse(body, status_code=status)


def _fmt(value: Any, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


_TEMPLATES.filters["num"] = _fmt


class Pages:
    def __init__(self, use_cases: UseCases):
        self.uc = use_cases

    async def _use(self, op: Op[Q, R], req: Q | None = None) -> R:
        with calling_as("page"):
            return await anyio.to_thread.run_sync(lambda: self.uc.run(op, req))

    async def _collections(self) -> tuple[dict[str, Any], list[str]]:
        stats = await self._use(STATS)
        return stats, sorted(stats.get("collections", {}))

    async def search(self, request: Request, session: Session) -> Response:
        q = request.query_params
        stats, collections = await self._collections()
        form = {k: q.get(k, "") for k in ("q", "collection", "source", "source_type", "updated_after", "top_k")}
        context: dict[str, Any] = {"form": form, "collections": collections, "error": "", "search": None, "answer": None}
        context["answer_help"] = {name: views.field_help(AnswerResponse, name) for name in ("p_answerable", "threshold")}
        if form["q"]:
            try:
                filters = SearchFilter.model_validate({k: form[k] for k in ("source", "source_type", "updated_after") if form[k]})
                common = {"query": form["q"], "collection": form["collection"] or None, "filters": None if filters.is_empty() else filters}
                s = SearchRequest(**common, top_k=int(form["top_k"] or 10))
                # The answer runs second: its rerank pairs come from the score cache the search filled.
                found: SearchResponse = await self._use(SEARCH, s)
                answered: AnswerResponse = await self._use(ANSWER, AnswerRequest(**common, explain=True))
                context.update(search=found, answer=answered, view=views.search(found), gate=views.gate(answered))
            except (ValidationError, ValueError) as e:
                context["error"] = _validation_words(e)
            except RagateError as e:
                context["error"] = f"{e.kind}: {e}"
        return render("search.html", context, session, status=400 if context["error"] else 200)

    async def feedback(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        try:
            req = FeedbackRequest(
                query=form.get("q", ""),
                chunk_id=form.get("chunk_id", ""),
                useful=form.get("useful") == "true",
                collection=form.get("collection") or None,
            )
            result = await self._use(FEEDBACK, req)
        except (ValidationError, RagateError) as e:
            return render("error.html", {"error": _validation_words(e) if isinstance(e, ValidationError) else str(e)}, session, status=400)
        back = "?" + urllib.parse.urlencode({"q": req.query, "collection": req.collection or ""})
        return render("feedback.html", {"result": result, "back": back}, session)

    async def index(self, request: Request, session: Session) -> Response:
        stats, collections = await self._collections()
        engines = await self._use(ENGINES)
        recent = await self._use(RECENT_CALLS)
        default = self.uc.settings.index.collection
        chosen = request.query_params.get("collection") or (default if default in collections else collections[0] if collections else "")
        documents = None
        if chosen in collections:
            offset = _int(request.query_params.get("offset"), 0)
            documents = await self._use(DOCUMENTS, DocumentsRequest(collection=chosen, offset=offset, limit=50))
        context = {
            "stats": stats,
            "collections": collections,
            "chosen": chosen,
            "documents": documents,
            "engines": engines,
            "recent": recent,
            "recent_size": self.uc.settings.ui.recent_calls,
            "service": stats.get("service") or {},
            # Other clients' queries only to a session that may write (an OAuth read-only one sees calls, not queries).
            "keep_queries": self.uc.settings.ui.keep_queries and session.can_write,
        }
        return render("index.html", context, session)

    async def document(self, request: Request, session: Session) -> Response:
        try:
            req = ResourceRequest(
                kind="doc", id=request.query_params.get("id", ""), collection=request.query_params.get("collection") or None
            )
            doc = await self._use(RESOURCE, req)
        except ValidationError as e:
            return render("error.html", {"error": _validation_words(e)}, session, status=400)
        except NotFound as e:
            return render("error.html", {"error": str(e)}, session, status=404)
        return render("document.html", {"doc": doc}, session)

    async def evaluation(self, request: Request, session: Session) -> Response:
        kept = await self._use(EVALUATIONS)
        return render("evaluation.html", {"evaluations": kept, "json": json}, session)

    async def plot(self, request: Request, session: Session) -> Response:
        try:
            req = EvalPlotRequest(collection=request.query_params.get("collection", ""), name=request.query_params.get("name", ""))
            png = await self._use(EVAL_PLOT, req)
        except ValidationError:
            png = None
        if png is None:
            return render("error.html", {"error": "no such plot"}, session, status=404)
        return Response(base64.b64decode(png), media_type="image/png")

    def static(self, name: str) -> Response:
        if name not in STATIC:
            return HTMLResponse("not found", status_code=404)
        return Response((_HERE / "static" / name).read_bytes(), media_type=STATIC[name])


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value else default
    except ValueError:
        return default


def _validation_words(e: Exception) -> str:
    """A refused form in words: the request model's own message, or the value's (a number that is not one)."""
    return validation_message(e, limit=1000) if isinstance(e, ValidationError) else str(e)[:1000]
