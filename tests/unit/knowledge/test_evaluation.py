"""Retrieval evaluation helpers: loading banks and queries, equivalent ids, metrics."""

from __future__ import annotations

import json
from pathlib import Path

from facilitator.features.knowledge.evaluation import (
    Query,
    evaluate,
    find_equivalent_ids,
    load_faq_bank,
    load_queries,
)
from facilitator.features.knowledge.search import Document, SearchIndex


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_bank_and_queries_are_loaded_from_jsonl(tmp_path: Path) -> None:
    bank = write_jsonl(
        tmp_path / "faqs.jsonl",
        [{"id": "f1", "question": "Q?", "answer": "A.", "lang": "pt"}],
    )
    queries = write_jsonl(
        tmp_path / "queries.jsonl", [{"query": "q", "faq_id": "f1", "lang": "pt"}]
    )
    assert load_faq_bank(bank) == [Document(id="f1", lang="pt", title="Q?", body="A.")]
    assert load_queries(queries) == [Query("q", "f1", "pt")]


def test_faqs_with_the_same_normalised_question_are_equivalent() -> None:
    docs = [
        Document("a", "pt", "Qual o prazo?", body="30 dias"),
        Document("b", "pt", "qual o PRAZO", body="60 dias"),
        Document("c", "pt", "Qual o custo?"),
    ]
    assert find_equivalent_ids(docs) == {"a": {"a", "b"}, "b": {"a", "b"}}


def test_evaluate_counts_equivalent_ids_as_right() -> None:
    index = SearchIndex()
    docs = [
        Document("a", "en", "How do I reset my password?"),
        Document("b", "en", "How do I reset my password?", body="other answer"),
        Document("c", "en", "Where is the meeting room?"),
    ]
    index.bulk_load(docs)
    queries = [Query("reset password", "a", "en"), Query("meeting room", "c", "en")]
    result = evaluate(index, queries, find_equivalent_ids(docs))
    assert result.p_at_1 == 1.0
    assert result.mrr_at_10 == 1.0
    assert result.r_at_5 == 1.0
    assert result.n == 2


def test_evaluation_result_is_one_json_line_with_the_agreed_keys() -> None:
    index = SearchIndex()
    index.bulk_load([Document("a", "en", "Where is the meeting room?")])
    line = evaluate(index, [Query("zzz qqq", "a", "en")]).to_json()
    assert "\n" not in line
    assert set(json.loads(line)) == {"p@1", "mrr@10", "r@5", "ms_per_query", "n"}
    assert json.loads(line)["p@1"] == 0.0
