"""Item vectors in memory, and how the fused ranking treats items with and without them."""

from __future__ import annotations

import numpy as np
import pytest

from facilitator.features.knowledge import dense
from facilitator.features.knowledge.dense import DenseIndex
from facilitator.features.knowledge.encoders import E5_FUSION
from facilitator.features.knowledge.hybrid import Evidence, HybridIndex, confidence, probability
from facilitator.features.knowledge.search import Document


def unit(rng: np.random.Generator, n: int, dims: int) -> np.ndarray:
    v = rng.standard_normal((n, dims)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_is_the_exact_nearest_and_follows_removals() -> None:
    rng = np.random.default_rng(1)
    vectors = unit(rng, 300, 32)
    index = DenseIndex(32)
    index.put_many([(f"d{i}", v) for i, v in enumerate(vectors)])
    query = vectors[7] + 0.05 * unit(rng, 1, 32)[0]
    expected = np.argsort(-(vectors @ query))[:5]
    assert [d for d, _ in index.top(query, 5)] == [f"d{i}" for i in expected]
    index.remove("d7")
    assert "d7" not in [d for d, _ in index.top(query, 5)]
    assert len(index) == 299
    index.put("d7", vectors[7])  # reuses a free slot
    assert index.top(query, 1)[0][0] == "d7"


def test_a_filter_keeps_only_allowed_ids() -> None:
    rng = np.random.default_rng(2)
    vectors = unit(rng, 50, 16)
    index = DenseIndex(16)
    index.put_many([(f"d{i}", v) for i, v in enumerate(vectors)])
    found = index.top(vectors[3], 5, allowed=lambda d: int(d[1:]) % 2 == 0)
    assert found and all(int(d[1:]) % 2 == 0 for d, _ in found)


def test_above_the_coarse_threshold_the_shortlist_keeps_the_true_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dense, "COARSE_FROM", 2000)
    monkeypatch.setattr(dense, "COARSE_DIMS", 24)
    rng = np.random.default_rng(3)
    # Clustered vectors, as real embeddings are: a projection has structure to keep.
    centres = unit(rng, 40, 64)
    vectors = centres[rng.integers(0, 40, 5000)] + 0.3 * unit(rng, 5000, 64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex(64)
    index.put_many([(f"d{i}", v.astype(np.float32)) for i, v in enumerate(vectors)])
    assert index._basis is not None  # the coarse stage is in use
    hits = 0
    for q in range(50):
        query = vectors[q * 97]
        truth = {f"d{i}" for i in np.argsort(-(vectors @ query))[:10]}
        hits += len(truth & {d for d, _ in index.top(query.astype(np.float32), 10)})
    assert hits / 500 >= 0.95


def docs() -> list[Document]:
    return [
        Document("a", "en", "How do I reset my password?", group="pw"),
        Document("a-es", "es", "¿Cómo restablezco mi contraseña?", group="pw"),
        Document("b", "en", "Where are the webinar recordings?"),
        Document("c", "en", "Who moderates the group?"),
    ]


def test_an_item_without_a_vector_is_ranked_by_its_words() -> None:
    index = HybridIndex()
    index.bulk_load(docs())
    index.use(E5_FUSION, 4)
    axis = np.eye(4, dtype=np.float32)
    index.put_vectors([("b", axis[1]), ("c", axis[2])])  # "a" has none yet
    hits = index.search("reset my password", vector=axis[1], lang="en")
    assert hits[0].id == "a"  # its words win although the vector points at "b"
    lexical = {h.id: h for h in index.lexical.search("reset my password", lang="en")}
    assert hits[0].confidence == pytest.approx(lexical["a"].confidence)


def test_translations_do_not_count_as_competitors() -> None:
    index = HybridIndex()
    index.bulk_load(docs())
    index.use(E5_FUSION, 4)
    v = np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    near = np.array([0.999, 0.045, 0.0, 0.0], dtype=np.float32)
    index.put_vectors([("a", v), ("a-es", near / np.linalg.norm(near))])
    index.put_vectors([("b", np.eye(4, dtype=np.float32)[1]), ("c", np.eye(4)[2].astype("f4"))])
    rows = {r.doc_id: r for r in index.evidence("password", v, lang="en")}
    # "a-es" says the same as "a": the gap is measured against "b" and "c".
    assert rows["a"].gap == pytest.approx(1.0)


def test_confidence_never_rises_down_the_list() -> None:
    index = HybridIndex()
    index.bulk_load(docs())
    index.use(E5_FUSION, 4)
    rng = np.random.default_rng(4)
    vectors = unit(rng, 4, 4)
    index.put_vectors([(d.id, v) for d, v in zip(docs(), vectors, strict=True)])
    hits = index.search("webinar recordings password", vector=vectors[2], lang="en")
    assert [h.confidence for h in hits] == sorted((h.confidence for h in hits), reverse=True)


def test_a_question_in_the_items_own_words_is_answered() -> None:
    weak = Evidence("a", 1.0, cosine=0.5, gap=0.0, lexical=0.99, clear=0.0)
    assert confidence(E5_FUSION, weak) == pytest.approx(0.99)
    unsure_words = Evidence("a", 1.0, cosine=0.5, gap=0.0, lexical=0.9, clear=0.0)
    assert confidence(E5_FUSION, unsure_words) < 0.35


def test_a_filter_does_not_inflate_confidence_in_a_large_repository() -> None:
    """With a type filter, the scale's bottom is still the repository's ordinary item: the
    only lesson among 400 FAQs, farther from the question than any of them, does not stand
    out just because the filter left no other dense candidate."""
    rng = np.random.default_rng(5)
    docs = [
        Document(f"f{i}", "en", f"question number {i} about topic {i % 7}") for i in range(400)
    ]
    docs.append(Document("lesson", "en", "Running a webinar", type="lesson"))
    index = HybridIndex()
    index.bulk_load(docs)
    index.use(E5_FUSION, 16)
    query = unit(rng, 1, 16)[0]
    faq_vectors = 0.9 * query + 0.3 * unit(rng, 400, 16)
    faq_vectors /= np.linalg.norm(faq_vectors, axis=1, keepdims=True)
    lesson = 0.75 * query + 0.66 * unit(rng, 1, 16)[0]
    index.put_vectors([(d.id, v) for d, v in zip(docs, faq_vectors, strict=False)])
    index.put_vectors([("lesson", lesson / np.linalg.norm(lesson))])
    [row] = index.evidence("webinar", query, lang="en", types=["lesson"])
    assert row.doc_id == "lesson" and row.lift < 0
    assert probability(E5_FUSION.calibration, row) < 0.01
