"""Lexical and dense ranking fused into one list, with a confidence fitted per backend.

Each side is scaled within the query: the lexical score by the best lexical score, the cosine
between the weakest and the best of the dense candidates. The fused score is their weighted
sum (a weighted sum of normalised scores did better than reciprocal rank fusion on the dev
banks). An item that has no vector yet is ranked by its lexical score alone, and keeps its
lexical confidence.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from facilitator.features.knowledge.dense import DenseIndex, Vector
from facilitator.features.knowledge.encoders import Calibration, Fusion
from facilitator.features.knowledge.search import Document, Hit, SearchConfig, SearchIndex


@dataclass(frozen=True)
class Evidence:
    """What the confidence model reads for one ranked candidate."""

    doc_id: str
    fused: float
    cosine: float | None  # None: the item has no vector yet
    gap: float  # its cosine minus the best cosine among the other candidates
    lexical: float  # its lexical confidence (0 when lexical search did not find it)
    clear: float  # its fused score minus the best other fused score, over the top score
    lift: float = 0.0  # its cosine minus the weakest of the dense candidates (how it stands out)
    # 1 when the item is in another language than the question: cosines across languages run
    # lower for the same meaning.
    crosslingual: float = 0.0


def probability(calibration: Calibration, evidence: Evidence) -> float:
    z = (
        calibration.bias
        + calibration.dense * (evidence.cosine or 0.0)
        + calibration.gap * evidence.gap
        + calibration.lexical * evidence.lexical
        + calibration.clear * evidence.clear
        + calibration.lift * evidence.lift
        + calibration.crosslingual * evidence.crosslingual
    )
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


def confidence(fusion: Fusion, evidence: Evidence, config: SearchConfig | None = None) -> float:
    """One number for the three bands the lookup reads. At and above the answer threshold it
    is the probability that the hit is right. Below it, it places the hit in the suggestion
    band exactly when the right item is probably (p >= 0.5) among the first three, so the
    choices offered keep their meaning too."""
    if evidence.cosine is None:
        return evidence.lexical
    c = config or SearchConfig()
    answer = probability(fusion.calibration, evidence)
    if evidence.lexical >= fusion.words_answer:
        answer = max(answer, evidence.lexical)
    if answer >= c.answer_threshold:
        return answer
    among = probability(fusion.suggestion, evidence)
    if among < 0.5:
        return min(answer, c.suggest_threshold * 0.999)
    band = c.answer_threshold - c.suggest_threshold
    return c.suggest_threshold + band * 0.999 * (among - 0.5) / 0.5


class HybridIndex:
    """A lexical `SearchIndex` and, once a backend is loaded, a `DenseIndex` beside it."""

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.lexical = SearchIndex(config)
        self.dense: DenseIndex | None = None
        self.fusion: Fusion | None = None
        self._docs: dict[str, Document] = {}

    def __len__(self) -> int:
        return len(self.lexical)

    def use(self, fusion: Fusion, dims: int) -> None:
        """Start ranking with a backend's vectors (dropping any of another backend)."""
        if self.fusion is not fusion or self.dense is None or self.dense.dims != dims:
            self.fusion = fusion
            self.dense = DenseIndex(dims)

    def add(self, doc: Document) -> None:
        self._docs[doc.id] = doc
        self.lexical.add(doc)
        if self.dense is not None:
            self.dense.remove(doc.id)  # its text changed: its old vector no longer fits

    def remove(self, doc_id: str) -> None:
        self._docs.pop(doc_id, None)
        self.lexical.remove(doc_id)
        if self.dense is not None:
            self.dense.remove(doc_id)

    def bulk_load(self, docs: Iterable[Document]) -> None:
        docs = list(docs)
        for doc in docs:
            self._docs[doc.id] = doc
        self.lexical.bulk_load(docs)

    def put_vectors(self, pairs: list[tuple[str, Vector]]) -> None:
        assert self.dense is not None, "use() a backend first"
        self.dense.put_many([(doc_id, v) for doc_id, v in pairs if doc_id in self._docs])

    def _floor(self, nearest: list[tuple[str, float]], depth: int) -> float | None:
        """The cosine of the depth-th nearest distinct item (a group counts once), or of the
        farthest one seen when the repository has fewer."""
        seen: set[str] = set()
        floor = None
        for doc_id, cos in nearest:
            doc = self._docs.get(doc_id)
            group = (doc.group or doc_id) if doc is not None else doc_id
            if group in seen:
                continue
            seen.add(group)
            floor = cos
            if len(seen) == depth:
                break
        return floor

    def _lang(self, doc_id: str) -> str:
        doc = self._docs.get(doc_id)
        return doc.lang if doc is not None else ""

    def has_vector(self, doc_id: str) -> bool:
        return self.dense is not None and doc_id in self.dense

    def search(
        self,
        query: str,
        *,
        vector: Vector | None = None,
        lang: str | None = None,
        limit: int = 10,
        types: Collection[str] | None = None,
        theme: str | None = None,
    ) -> list[Hit]:
        if vector is None or self.fusion is None or not self.dense:
            return self.lexical.search(query, lang=lang, limit=limit, types=types, theme=theme)
        rows = self.evidence(query, vector, lang=lang, types=types, theme=theme)[:limit]
        hits: list[Hit] = []
        ceiling = 1.0
        for row in rows:
            # As in the lexical ranking, a lower hit is never a surer answer.
            ceiling = min(ceiling, confidence(self.fusion, row, self.lexical.config))
            hits.append(Hit(id=row.doc_id, score=row.fused, confidence=ceiling))
        return hits

    def evidence(
        self,
        query: str,
        vector: Vector,
        *,
        lang: str | None = None,
        types: Collection[str] | None = None,
        theme: str | None = None,
    ) -> list[Evidence]:
        """Every candidate of both sides, best fused score first."""
        assert self.fusion is not None and self.dense is not None
        fusion = self.fusion
        lexical_hits = self.lexical.search(
            query, lang=lang, limit=fusion.depth, types=types, theme=theme
        )

        def allowed(doc_id: str) -> bool:
            doc = self._docs.get(doc_id)
            return (
                doc is not None
                and (types is None or doc.type in types)
                and (theme is None or doc.theme == theme)
            )

        # One scan: the nearest items of all, enough of them to reach `depth` distinct ones
        # (translations of one item count once), then the filter.
        nearest = self.dense.top(vector, 4 * fusion.depth)
        floor_all = self._floor(nearest, fusion.depth)
        dense_top = [pair for pair in nearest if allowed(pair[0])][: fusion.depth]
        cosines = dict(dense_top)
        lex_top = max((h.score for h in lexical_hits), default=0.0)
        lex_norm = {h.id: h.score / lex_top for h in lexical_hits} if lex_top > 0 else {}
        lex_conf = {h.id: h.confidence for h in lexical_hits}
        for h in lexical_hits:
            if h.id not in cosines:
                found = self.dense.cosine(h.id, vector)
                if found is not None:
                    cosines[h.id] = found
        if not cosines and not lex_norm:
            return []
        best = max(cosines.values(), default=0.0)
        # The scale's bottom is the repository's ordinary item for this query (the depth-th
        # nearest of all), whatever the filter keeps: the calibration was fitted on it.
        floor = floor_all if floor_all is not None else best
        span = max(best - floor, 1e-6)
        w = fusion.lexical_weight
        fused: dict[str, float] = {}
        for doc_id in lex_norm.keys() | cosines.keys():
            lex = lex_norm.get(doc_id, 0.0)
            cos = cosines.get(doc_id)
            if cos is None:
                fused[doc_id] = lex
            else:
                fused[doc_id] = w * lex + (1.0 - w) * max(0.0, (cos - floor) / span)
        order = sorted(fused, key=lambda d: (-fused[d], d))
        group = {d: (self._docs[d].group or d) if d in self._docs else d for d in order}
        top_fused = fused[order[0]] or 1e-9
        rows: list[Evidence] = []
        for doc_id in order:
            mine = group[doc_id]
            # The best competitor is the best candidate that does not say the same thing.
            other_cos = max(
                (c for d, c in cosines.items() if group.get(d, d) != mine), default=None
            )
            other_fused = max((f for d, f in fused.items() if group[d] != mine), default=0.0)
            cos = cosines.get(doc_id)
            rows.append(
                Evidence(
                    doc_id=doc_id,
                    fused=fused[doc_id],
                    cosine=cos,
                    gap=0.0 if cos is None or other_cos is None else cos - other_cos,
                    lexical=lex_conf.get(doc_id, 0.0),
                    clear=(fused[doc_id] - other_fused) / top_fused,
                    lift=0.0 if cos is None else cos - floor,
                    crosslingual=float(bool(lang) and self._lang(doc_id) not in ("", lang)),
                )
            )
        return rows
