"""Retrieval evaluation: load FAQ banks and query sets, score an index with P@1, MRR@10, R@5."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from facilitator.features.knowledge.encoders import Encoder, passage_text
from facilitator.features.knowledge.hybrid import HybridIndex
from facilitator.features.knowledge.search import Document, SearchConfig, SearchIndex
from facilitator.features.knowledge.text import words
from facilitator.text import fold


@dataclass(frozen=True)
class Query:
    """A user question and the id of the FAQ that answers it."""

    text: str
    expected_id: str
    lang: str | None = None


@dataclass(frozen=True)
class EvalResult:
    p_at_1: float
    mrr_at_10: float
    r_at_5: float
    ms_per_query: float
    n: int
    ms_p50: float = 0.0
    ms_p95: float = 0.0

    def to_json(self, **extra: str) -> str:
        """One JSON line with the keys `p@1`, `mrr@10`, `r@5`, `ms_per_query`, `n` (and any
        `extra`, such as the backend)."""
        return json.dumps(
            {
                "p@1": round(self.p_at_1, 4),
                "mrr@10": round(self.mrr_at_10, 4),
                "r@5": round(self.r_at_5, 4),
                "ms_per_query": round(self.ms_per_query, 3),
                "n": self.n,
                **extra,
            }
        )


def _read_jsonl(path: str | Path) -> list[dict[str, str]]:
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_faq_bank(path: str | Path) -> list[Document]:
    """Documents of a `faqs.jsonl` file (`id`, `question`, `answer`, `lang` per line)."""
    return [
        Document(id=r["id"], lang=r.get("lang", ""), title=r["question"], body=r.get("answer", ""))
        for r in _read_jsonl(path)
    ]


def load_queries(path: str | Path) -> list[Query]:
    """Queries of a `queries.*.jsonl` file (`query`, `faq_id`, `lang` per line)."""
    return [Query(r["query"], r["faq_id"], r.get("lang")) for r in _read_jsonl(path)]


def find_equivalent_ids(docs: Iterable[Document]) -> dict[str, set[str]]:
    """Ids of FAQs asking the same question (same normalised text), which a scorer may swap.

    Only ids with at least one twin appear; each maps to the whole group, itself included.
    """
    groups: dict[str, set[str]] = {}
    for doc in docs:
        groups.setdefault(" ".join(words(fold(doc.title))), set()).add(doc.id)
    return {i: group for group in groups.values() if len(group) > 1 for i in group}


def rank_of(ranked: Sequence[str], accepted: set[str]) -> int | None:
    """1-based position of the first accepted id, or None."""
    for position, doc_id in enumerate(ranked, start=1):
        if doc_id in accepted:
            return position
    return None


def evaluate_ranker(
    rank: Callable[[Query], Sequence[str]],
    queries: Sequence[Query],
    equivalent: Mapping[str, set[str]] | None = None,
) -> EvalResult:
    """Scores any function that returns ranked ids for a query (used for baselines too)."""
    equivalent = equivalent or {}
    p1 = mrr = r5 = 0.0
    times: list[float] = []
    for q in queries:
        start = time.perf_counter()
        ranked = rank(q)
        times.append(time.perf_counter() - start)
        position = rank_of(ranked[:10], equivalent.get(q.expected_id, {q.expected_id}))
        if position is not None:
            p1 += position == 1
            mrr += 1.0 / position
            r5 += position <= 5
    n = len(queries)
    if n == 0:
        return EvalResult(0.0, 0.0, 0.0, 0.0, 0)
    times.sort()
    return EvalResult(
        p1 / n,
        mrr / n,
        r5 / n,
        1000.0 * sum(times) / n,
        n,
        1000.0 * times[n // 2],
        1000.0 * times[min(n - 1, int(0.95 * n))],
    )


EMBED_BATCH = 32


def build_index(
    docs: Sequence[Document], encoder: Encoder | None = None, config: SearchConfig | None = None
) -> HybridIndex:
    """The index a community would have: every document, and its vector when a backend is on."""
    index = HybridIndex(config)
    index.bulk_load(docs)
    if encoder is not None:
        index.use(encoder.fusion, encoder.dims)
        texts = [passage_text(d.title, d.alternates, d.body, encoder.fusion) for d in docs]
        for start in range(0, len(docs), EMBED_BATCH):
            vectors = encoder.passages(texts[start : start + EMBED_BATCH])
            ids = [d.id for d in docs[start : start + EMBED_BATCH]]
            index.put_vectors(list(zip(ids, vectors, strict=True)))
    return index


def evaluate(
    index: HybridIndex | SearchIndex,
    queries: Sequence[Query],
    equivalent_ids: Mapping[str, set[str]] | None = None,
    encoder: Encoder | None = None,
) -> EvalResult:
    """P@1, MRR@10 and R@5 of `index` on `queries`; equivalent ids count as the expected one.
    With an encoder, each query is embedded inside the timed ranking, as a lookup does."""

    def rank(q: Query) -> list[str]:
        if encoder is None or isinstance(index, SearchIndex):
            return [h.id for h in index.search(q.text, lang=q.lang, limit=10)]
        vector = encoder.queries([q.text])[0]
        return [h.id for h in index.search(q.text, vector=vector, lang=q.lang, limit=10)]

    return evaluate_ranker(rank, queries, equivalent_ids)
