"""A collection's calibration profile: the relevance calibration (reranker logit → probability), the
gate's answerability model with its certified threshold, and the blend's relevance and retrieval
weights, fitted together for one collection and the embedder, reranker and chunking they read.

Where the profile in force comes from, first found wins:
- `labelled`: `ragate calibrate` on the user's labelled queries (BEIR qrels, JSONL pairs, feedback);
- `self`: `ragate calibrate --self`, questions made from the collection's own chunks (no labels);
- `default`: shipped with the package for the default embedder, fitted on several corpora over
  features that keep their meaning across corpora and rerankers;
- `none`: the reranker's own sigmoid and the gate's uncalibrated rule.

Each collection has its own documents (`calibration/<collection>.<source>.json`, in the index folder
or, on a Qdrant server, in its `ragate.state` collection), so a fit on one collection never governs
another, and every replica of one cluster gates alike."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Hashable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from ragate.retrieval.errors import StoreError
from ragate.retrieval.state import CALIBRATION, StateDocs
from ragate.retrieval.store import check_collection_name
from ragate.scoring.answerability import FEATURES, AnswerabilityModel
from ragate.scoring.calibration import CalibrationParams, Calibrator

log = logging.getLogger(__name__)

Source = Literal["labelled", "self", "default", "none"]
STORED: tuple[Source, ...] = ("labelled", "self")  # in the order they take precedence
QUANTILES = np.linspace(0.0, 1.0, 21)


class BlendPair(BaseModel):
    """The blend's two weights a fit chooses (the rest stay as configured), with the evidence: mean
    nDCG@10 on the fit's questions at these weights and at the best weights without the reranker, and
    the best reranked pair's gain over that hybrid with its 95% paired bootstrap interval, over all
    the questions and over each kind of question the fit had (self-calibration's topic and passage
    questions: the reranker must help both)."""

    w_relevance: float
    w_retrieval: float
    questions: int = 0
    ndcg: float | None = None
    ndcg_hybrid: float | None = None
    gain: float | None = None
    gain_low: float | None = None
    gain_high: float | None = None
    by_kind: dict[str, tuple[float, float, float, int]] = {}  # kind → (gain, low, high, questions)

    def evidence(self) -> str:
        """Why the reranker counts as much as it does, in words."""
        if self.gain is None or self.gain_low is None or self.gain_high is None:
            return f"w_relevance {self.w_relevance:g}, not tested on this collection (ragate calibrate --self tests whether reranking helps it)"
        measured = (
            f"reranking changed nDCG@10 by {self.gain:+.3f} (95% interval {self.gain_low:+.3f} to {self.gain_high:+.3f}) against "
            f"hybrid alone on {self.questions} questions"
        )
        if self.w_relevance > 0:
            return f"weight {self.w_relevance:g}: {measured}"
        unproven = [(k, g) for k, g in sorted(self.by_kind.items()) if g[1] <= 0]
        if self.gain_low > 0 and unproven:
            kind, (gain, low, high, n) = unproven[0]
            return (
                f"reranking not shown to help {kind} questions: it changed their nDCG@10 by {gain:+.3f} (95% interval "
                f"{low:+.3f} to {high:+.3f}) on {n} of them; over all, {measured}"
            )
        if self.gain <= 0:
            return f"hybrid ranks this collection as well or better: {measured}"
        return f"reranking not shown to help this collection: {measured}"


class Reference(BaseModel):
    """What the fit saw, for drift: quantiles (0, 5, …, 100%) of p_answerable and of the best
    calibrated relevance over the pools it was fitted on, answerable and not."""

    p_answerable: list[float]
    top_relevance: list[float]
    pools: int

    @classmethod
    def of(cls, *, p_answerable: np.ndarray, top_relevance: np.ndarray) -> Reference:
        q = QUANTILES
        return cls(
            p_answerable=[round(float(v), 6) for v in np.quantile(p_answerable, q)],
            top_relevance=[round(float(v), 6) for v in np.quantile(top_relevance, q)],
            pools=len(p_answerable),
        )


class Profile(BaseModel):
    source: Source = "none"
    fitted_on: str = ""
    fitted_at: str = ""
    # What it was fitted for; "" matches anything (the default's reranker: its features do not read
    # the reranker's absolute scores).
    embedder: str = ""
    reranker: str = ""
    chunking: str = ""
    relevance: CalibrationParams | None = None  # None: the reranker's sigmoid
    answerability: AnswerabilityModel | None = None  # None: the gate's uncalibrated rule
    blend: BlendPair | None = None  # None: [blend] w_relevance and w_retrieval as configured
    reference: Reference | None = None
    figures: dict[str, Any] = {}  # the fit's own report

    def calibrator(self) -> Calibrator:
        return Calibrator(self.relevance)

    def relevance_meaning(self) -> str:
        """What `relevance` is under this profile, in words: how it was fitted, on what."""
        r = self.relevance
        if r is None:
            return "the reranker's own sigmoid of its logit, not fitted to this collection"
        ece = f"; expected calibration error {r.ece_after:.3f} on those pairs" if r.ece_after is not None else ""
        return f"{r.method} scaling of the reranker's logit, fitted on {r.pairs} pairs from {r.fitted_on or self.fitted_on}{ece}"

    def fits(self, *, embedder: str, reranker: str, chunking: str) -> bool:
        mine = (self.embedder, self.reranker, self.chunking)
        return all(m in ("", v) for m, v in zip(mine, (embedder, reranker, chunking), strict=True)) and (
            self.answerability is None or set(self.answerability.features) <= set(FEATURES)
        )

    def summary(self) -> dict[str, Any]:
        """What `stats` says of it."""
        m = self.answerability
        return {
            "source": self.source,
            "fitted_on": self.fitted_on,
            "fitted_at": self.fitted_at,
            "relevance": self.relevance.method if self.relevance else "sigmoid",
            "threshold": None if m is None else m.threshold,
            "false_accept_bound": None if m is None else m.false_accept_bound,
            "bound_covers": "off-topic questions of the kinds calibrated on; not near misses, not planted documents",
            "near_topic_false_accept": None if m is None else m.near_topic_false_accept,
            "near_topic_auroc": None if m is None else m.near_topic_auroc,
            "max_false_accept": None if m is None else m.max_false_accept,
            "blend": None if self.blend is None else self.blend.model_dump(),
            "figures": self.figures,
        }


NONE = Profile()


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_profile() -> Profile | None:
    """The profile shipped with the package (scoring/data/default_profile.json)."""
    try:
        text = resources.files("ragate.scoring").joinpath("data/default_profile.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    return Profile.model_validate_json(text)


class ProfileStore:
    """Each collection's stored profiles, one document per source (`calibration/<collection>.<source>.json`)
    in the store's own documents (retrieval/state.py): a folder beside the embedded index, or the
    server's, where every replica reads the same."""

    def __init__(self, docs: StateDocs):
        self.docs = docs
        self._default = default_profile()
        self._read: dict[str, tuple[Hashable, Profile | None]] = {}  # by document: (its stamp when read, what it held)
        self._unreadable: dict[str, str] = {}  # by document: why it could not be read, the last time it was read
        self._warned: set[tuple[str, ...]] = set()

    @staticmethod
    def name(collection: str, source: Source) -> str:
        return f"{CALIBRATION}/{check_collection_name(collection)}.{source}.json"

    def stored(self, collection: str, source: Source) -> Profile | None:
        """The stored profile, read again only when it may have changed (`ragate calibrate` may
        rewrite it while a server runs, another replica may)."""
        name = self.name(collection, source)
        stamp = self.docs.stamp(name)
        cached = self._read.get(name)
        if cached is None or cached[0] != stamp:
            cached = self._read[name] = (stamp, self._parse(name))
        return cached[1]

    def _parse(self, name: str) -> Profile | None:
        self._unreadable.pop(name, None)
        try:
            text = self.docs.read(name)
            return None if text is None else Profile.model_validate_json(text)
        except (ValueError, StoreError) as e:
            self._unreadable[name] = str(e).splitlines()[0][:300]
            log.warning("ignoring unreadable calibration profile %s in %s: %s", name, self.docs.location, e)
            return None

    def adopt_files(self, directory: Path) -> None:
        """Profiles kept as files in `directory` (where an index on a Qdrant server kept them on
        each machine before they lived in the server) copied into the store once, each said in a
        warning; the files stay where they are."""
        for path in sorted(directory.glob("*.json")):
            name = f"{CALIBRATION}/{path.name}"
            try:
                if self.docs.read(name) is None:
                    where = self.docs.write(name, path.read_text())
                    log.warning("calibration profile %s copied to %s, where every replica reads it", path, where)
            except (OSError, StoreError) as e:
                log.warning("calibration profile %s not copied into the store: %s", path, e)

    def review(self, collection: str, *, embedder: str, reranker: str, chunking: str) -> tuple[dict[Source, Profile], dict[Source, str]]:
        """Every profile that fits these models, by source, in precedence order, `none` last; and
        each stored one set aside with why: unreadable, or fitted for other models, chunking or gate
        features (those ranked below the one in force included: each would be ahead of the default)."""
        out: dict[Source, Profile] = {}
        aside: dict[Source, str] = {}
        now = {"embedder": embedder, "reranker": reranker, "chunking": chunking}
        for source in STORED:
            prof = self.stored(collection, source)
            name = self.name(collection, source)
            if name in self._unreadable:
                aside[source] = f"it cannot be read: {self._unreadable[name]}"
            if prof is None:
                continue
            if prof.fits(**now):
                out[source] = prof
                continue
            differ = [f"{k} {getattr(prof, k)!r}, now {v!r}" for k, v in now.items() if getattr(prof, k) not in ("", v)]
            aside[source] = (
                f"it was fitted for other settings ({'; '.join(differ) or 'its gate reads features this version does not know'})"
            )
            if (stale := (collection, source, prof.fitted_at, embedder, reranker, chunking)) not in self._warned:
                self._warned.add(stale)
                log.warning(
                    "the %s calibration of collection %r is not used: %s; run `ragate calibrate` again", source, collection, aside[source]
                )
            aside[source] += "; run ragate calibrate again"
        if self._default is not None and self._default.fits(**now):
            out["default"] = self._default
        out["none"] = NONE
        return out, aside

    def available(self, collection: str, *, embedder: str, reranker: str, chunking: str) -> dict[Source, Profile]:
        """Every profile that fits these models, by source, in precedence order, `none` last."""
        return self.review(collection, embedder=embedder, reranker=reranker, chunking=chunking)[0]

    def set_aside(self, collection: str, *, embedder: str, reranker: str, chunking: str) -> dict[Source, str]:
        """The stored calibrations not in force and why (`review`)."""
        return self.review(collection, embedder=embedder, reranker=reranker, chunking=chunking)[1]

    def current(self, collection: str, *, embedder: str, reranker: str, chunking: str) -> Profile:
        """The profile in force for the collection."""
        return next(iter(self.available(collection, embedder=embedder, reranker=reranker, chunking=chunking).values()))

    def save(self, collection: str, profile: Profile) -> str:
        """Store the profile; where it went."""
        return self.docs.write(self.name(collection, profile.source), json.dumps(profile.model_dump(), indent=2))

    def remove(self, collection: str) -> None:
        """A dropped collection's profiles go with it."""
        for source in STORED:
            self.docs.remove(self.name(collection, source))
