"""In-memory lookup index: field BM25, n-gram and semantic rerank, typo repair, confidence."""

from __future__ import annotations

import ctypes
import functools
import itertools
import math
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from facilitator.features.knowledge import text as tx
from facilitator.text import fold

ANSWER_THRESHOLD = 0.6
SUGGEST_THRESHOLD = 0.35

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
LongArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Document:
    """One searchable item; `title` is the question of an FAQ, `alternates` other phrasings."""

    id: str
    lang: str
    title: str
    alternates: tuple[str, ...] = ()
    body: str = ""
    tags: tuple[str, ...] = ()
    theme: str = ""
    type: str = "faq"
    # Documents that say the same thing (translations of one item) share a group: they do not
    # compete with each other when the semantic ranking judges how clear a match is.
    group: str = ""


@dataclass(frozen=True)
class Hit:
    """A ranked result: `score` orders hits, `confidence` (0..1) says how sure the match is."""

    id: str
    score: float
    confidence: float


@dataclass(frozen=True)
class SearchConfig:
    """Ranking weights, limits and confidence calibration.

    The weights were chosen on the development FAQ sets (English and Portuguese); the
    confidence coefficients are a logistic regression of "the first hit is right" on them.
    """

    k1: float = 1.2
    question_b: float = 0.75
    body_b: float = 0.75
    tags_b: float = 0.3
    # Final score = sum of weight * signal, each signal scaled to 0..1 within the query.
    question_weight: float = 0.5  # word BM25 on question + alternates (+ tags)
    ngram_weight: float = 1.0  # character n-gram BM25 on question + alternates
    body_weight: float = 0.2  # word BM25 on the answer / body
    similarity_weight: float = 0.2  # rapidfuzz token-set similarity with the question
    semantic_weight: float = 0.4  # cosine in the bank's latent semantic space (LSA)
    tags_weight: float = 0.5  # a tag or theme match counts this much of a question match
    # Query words unknown to the index are matched to close index words (typos).
    fuzzy_min_length: int = 4
    fuzzy_cutoff: float = 80.0
    fuzzy_weight: float = 0.8
    fuzzy_candidates: int = 2
    # Only this many candidates of the word ranking get the n-gram and similarity scores.
    rerank_depth: int = 48
    ngram_sizes: tuple[int, ...] = (3, 4, 5)
    ngram_k1: float = 1.2
    ngram_b: float = 0.75
    # n-gram document frequencies are estimated on an even sample of at most this many items.
    ngram_df_sample: int = 2000
    # The latent space has this many dimensions, learnt from at most this many items.
    semantic_dims: int = 48
    semantic_sample: int = 2000
    # Bounds that keep pathological input cheap.
    max_query_chars: int = 2000
    max_query_terms: int = 32
    max_similarity_chars: int = 300
    max_body_words: int = 5000
    # Updates are searched from a small side segment until it is merged into the main arrays.
    merge_min_pending: int = 512
    merge_pending_ratio: float = 0.05
    # confidence = logistic(bias + spelling_w * spelling + similarity_w * similarity
    #                       + clear_w * margin * question), see _Evidence. A logistic regression
    # of "the first hit is right" on the dev sets and on banks of 12, 40 and 150 FAQs sampled
    # from them, each query also run with its FAQ removed (a knowledge gap), half and half.
    confidence_bias: float = -4.2
    confidence_spelling: float = 2.8
    confidence_similarity: float = 2.7
    confidence_clear: float = 12.8
    answer_threshold: float = ANSWER_THRESHOLD
    suggest_threshold: float = SUGGEST_THRESHOLD


QUESTION, BODY, TAGS = 0, 1, 2
_FIELDS = 3
_STOP = -1  # term id of a stopword
_CHUNK = 4096  # documents analysed per batch while building


@dataclass
class _Analysed:
    """Term ids per field (question, body, tags; _STOP for stopwords) and the field lengths
    (stopwords excluded) used to normalise them."""

    fields: tuple[list[int], list[int], list[int]]
    lengths: tuple[float, float, float]
    phrasings: tuple[str, ...]  # title and alternates as folded words, for string matching

    def counts(self, field: int) -> Counter[int]:
        counts = Counter(self.fields[field])
        counts.pop(_STOP, None)
        return counts

    def unique_terms(self) -> set[int]:
        terms = set(self.fields[QUESTION]) | set(self.fields[BODY]) | set(self.fields[TAGS])
        terms.discard(_STOP)
        return terms

    def weights(self) -> dict[int, float]:
        """Sublinear term frequency summed over fields, as the latent space weighs terms."""
        out: dict[int, float] = {}
        for field in range(_FIELDS):
            for term, count in self.counts(field).items():
                out[term] = out.get(term, 0.0) + 1.0 + math.log(count)
        return out


class _Analyzer:
    """Maps text to term ids (stems), caching the work per distinct word."""

    def __init__(self) -> None:
        self.term_id: dict[str, int] = {}
        # lang -> word -> term id (_STOP for a stopword); stemming is the cost, words repeat.
        self._cache: dict[str, dict[str, int]] = {}
        # folded surface word -> term ids, to map accentless query words to index terms.
        self.surface: dict[str, set[int]] = {}
        # surface words by length: the candidates for typo repair.
        self.by_length: dict[int, list[str]] = {}
        # word -> folded word, for every word learnt.
        self._folded: dict[str, str] = {}

    def ids(self, words: list[str], lang: str) -> list[int]:
        """Term id of each word, _STOP for stopwords (dropped later, in bulk)."""
        cache = self._cache.get(lang)
        if cache is None:
            cache = self._cache[lang] = {}
        try:
            return [cache[w] for w in words]
        except KeyError:
            if len(cache) > 1_000_000:  # bound memory on adversarial vocabularies
                cache.clear()
                self._folded.clear()
            # First-seen order, not set order: term ids must not depend on the hash seed.
            self._learn(list(dict.fromkeys(w for w in words if w not in cache)), lang, cache)
            return [cache[w] for w in words]

    def _learn(self, words: list[str], lang: str, cache: dict[str, int]) -> None:
        content: list[str] = []
        for word in words:
            folded = self._folded[word] = fold(word)
            if (len(folded) < 2 and not folded.isdigit()) or tx.is_stopword(folded, lang):
                cache[word] = _STOP
            else:
                content.append(word)
        term_id = self.term_id
        for word, term in zip(content, tx.stem_words(content, lang), strict=True):
            tid = cache[word] = term_id.setdefault(term, len(term_id))
            folded = self._folded[word]
            known = self.surface.get(folded)
            if known is None:
                self.surface[folded] = {tid}
                self.by_length.setdefault(len(folded), []).append(folded)
            else:
                known.add(tid)

    def analyse(self, doc: Document, max_body_words: int) -> _Analysed:
        question: list[int] = []
        phrasings: list[str] = []
        for phrase in (doc.title, *doc.alternates):
            phrase_words = tx.words(phrase)
            if phrase_words:
                question.extend(self.ids(phrase_words, doc.lang))
                phrasings.append(" ".join(map(self._folded.__getitem__, phrase_words)))
        body = self.ids(tx.words(doc.body)[:max_body_words], doc.lang) if doc.body else []
        labels = " ".join((*doc.tags, doc.theme)).strip()
        tags = self.ids(tx.words(labels), doc.lang) if labels else []
        # Alternates add evidence for their words, not length: normalise by the mean phrasing.
        return _Analysed(
            fields=(question, body, tags),
            lengths=(
                (len(question) - question.count(_STOP)) / max(1, len(phrasings)),
                float(len(body) - body.count(_STOP)),
                float(len(tags) - tags.count(_STOP)),
            ),
            phrasings=tuple(phrasings),
        )


class _Postings:
    """Immutable postings of one field: per term id, the slots and their BM25 tf factors."""

    def __init__(
        self,
        n_terms: int,
        terms: LongArray,
        slots: IntArray,
        tfs: IntArray,
        lengths: FloatArray,
        k1: float,
        b: float,
    ) -> None:
        order = np.argsort(terms, kind="stable")
        s = slots[order]
        tf = tfs[order].astype(np.float32)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        norm = k1 * (1.0 - b + b * lengths[s] / max(avg, 1e-9))
        self.slots: IntArray = s
        self.impacts: FloatArray = (tf * (k1 + 1.0) / (tf + norm)).astype(np.float32)
        self.ptr: LongArray = np.searchsorted(terms[order], np.arange(n_terms + 1))
        self.n_terms = n_terms

    @classmethod
    def empty(cls) -> _Postings:
        none = np.zeros(0, dtype=np.int32)
        return cls(0, none.astype(np.int64), none, none, np.zeros(0, np.float32), 1.2, 0.75)

    def add_to(self, acc: FloatArray, term: int, weight: float) -> None:
        if term < self.n_terms:
            lo, hi = self.ptr[term], self.ptr[term + 1]
            if hi > lo:
                acc[self.slots[lo:hi]] += weight * self.impacts[lo:hi]


def _unique(values: LongArray) -> LongArray:
    """Sorted distinct values (np.unique without counts takes a much slower hash path)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    result: LongArray = ordered[keep]
    return result


def _gather_ranges(ptr: LongArray, rows: LongArray) -> LongArray:
    """Positions covered by the CSR rows `rows`, concatenated."""
    starts = ptr[rows]
    lengths = ptr[rows + 1] - starts
    offsets = np.zeros(len(rows), dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    base = np.repeat(starts - offsets, lengths)
    result: LongArray = np.arange(int(lengths.sum()), dtype=np.int64) + base
    return result


class _GramIndex:
    """Character n-gram BM25 over question phrasings, scored only for rerank candidates.

    A phrasing is stored as word ids and a word as n-gram ids, so memory grows with the
    vocabulary rather than with the number of n-gram occurrences.
    """

    def __init__(self, sizes: tuple[int, ...], k1: float, b: float) -> None:
        self._sizes = sizes
        self._k1 = k1
        self._b = b
        self._word_id: dict[str, int] = {}
        self._gram_id: dict[str, int] = {}
        self._word_grams: list[IntArray] = []  # per word id
        self._idf = np.zeros(0, dtype=np.float32)  # per n-gram id known at the last build
        self._max_idf = 1.0
        self._avg_len = 1.0
        # Phrasings of the slots present at the last build (CSR), later ones in `_pending`.
        self._main_slots = 0
        self._slot_ptr = np.zeros(1, dtype=np.int64)
        self._phr_ptr = np.zeros(1, dtype=np.int64)
        self._phr_words = np.zeros(0, dtype=np.int32)
        # Word -> n-gram ids (CSR) for the words known at the last build.
        self._wg_ptr = np.zeros(1, dtype=np.int64)
        self._wg_ids = np.zeros(0, dtype=np.int32)
        self._pending: dict[int, list[LongArray]] = {}

    def _word_ids(self, words: list[str]) -> list[int]:
        ids = list(map(self._word_id.get, words))
        if None in ids:
            gram_id = self._gram_id
            for word in words:
                if word not in self._word_id:
                    self._word_id[word] = len(self._word_grams)
                    grams = tx.char_ngrams(word, self._sizes)
                    self._word_grams.append(
                        np.fromiter(
                            (gram_id.setdefault(g, len(gram_id)) for g in grams),
                            dtype=np.int32,
                            count=len(grams),
                        )
                    )
            ids = list(map(self._word_id.get, words))
        return ids  # type: ignore[return-value]

    def build(self, phrasings: list[tuple[str, ...]], sample: list[str]) -> None:
        """Index the phrasings of slots 0..n-1; n-gram idf comes from the folded `sample` texts."""
        phrase_sizes: list[int] = []
        slot_sizes: list[int] = []
        words: list[int] = []
        for slot_phrasings in phrasings:
            slot_sizes.append(len(slot_phrasings))
            for phrase in slot_phrasings:
                ids = self._word_ids(tx.words(phrase))
                words.extend(ids)
                phrase_sizes.append(len(ids))
        self._main_slots = len(phrasings)
        self._slot_ptr = np.concatenate([[0], np.cumsum(slot_sizes, dtype=np.int64)])
        self._phr_ptr = np.concatenate([[0], np.cumsum(phrase_sizes, dtype=np.int64)])
        self._phr_words = np.asarray(words, dtype=np.int32)
        self._pending.clear()
        self._build_idf(sample)
        sizes = np.fromiter((len(g) for g in self._word_grams), np.int64, len(self._word_grams))
        self._wg_ptr = np.concatenate([[0], np.cumsum(sizes)])
        self._wg_ids = (
            np.concatenate(self._word_grams) if self._word_grams else np.zeros(0, np.int32)
        )
        lengths = sizes[self._phr_words]
        self._avg_len = float(lengths.sum() / max(1, len(phrase_sizes)))

    def _build_idf(self, sample: list[str]) -> None:
        # Sample words join the vocabulary so their n-grams get ids and can be counted.
        doc_words = [
            np.fromiter(set(self._word_ids(tx.words(text))), dtype=np.int64) for text in sample
        ]
        n_words = len(self._word_grams)
        sizes = np.fromiter((len(g) for g in self._word_grams), np.int64, n_words)
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        grams = np.concatenate(self._word_grams) if n_words else np.zeros(0, np.int32)
        df = np.zeros(len(self._gram_id), dtype=np.float32)
        for start in range(0, len(doc_words), 512):
            chunk = doc_words[start : start + 512]
            if not chunk:
                continue
            word_ids = np.concatenate(chunk).astype(np.int64)
            doc = np.repeat(np.arange(len(chunk), dtype=np.int64), [len(c) for c in chunk])
            gram = grams[_gather_ranges(ptr, word_ids)].astype(np.int64)
            pairs = _unique(np.repeat(doc, sizes[word_ids]) << 32 | gram)
            df += np.bincount(pairs & 0xFFFFFFFF, minlength=len(df)).astype(np.float32)
        n = float(len(sample))
        self._idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._max_idf = math.log1p((n + 0.5) / 0.5)

    def add(self, slot: int, phrasings: tuple[str, ...]) -> None:
        self._pending[slot] = [
            np.asarray(self._word_ids(tx.words(p)), dtype=np.int64) for p in phrasings
        ]

    def discard(self, slot: int) -> None:
        self._pending.pop(slot, None)

    def score(self, query_words: list[str], slots: list[int]) -> tuple[FloatArray, float]:
        """n-gram BM25 of each slot's best phrasing, and the query's total n-gram idf.

        The total is about what a phrasing equal to the query scores, so score / total says
        how much of the query's spelling a phrasing shares."""
        out = np.zeros(len(slots), dtype=np.float32)
        gram_id = self._gram_id
        query_grams = {
            gid
            for word in query_words
            for g in tx.char_ngrams(word, self._sizes)
            if (gid := gram_id.get(g)) is not None
        }
        if not query_grams or not slots:
            return out, 0.0
        n_grams = len(gram_id)
        ids = np.fromiter(query_grams, dtype=np.int64, count=len(query_grams))
        qidf = np.zeros(n_grams, dtype=np.float32)
        n_old = len(self._idf)
        old = ids[ids < n_old]
        qidf[old] = self._idf[old]
        # n-grams first seen after the last build have no document frequency: count them rare.
        qidf[ids[ids >= n_old]] = self._max_idf
        mass = float(qidf[ids].sum())
        owners, words, word_phrase = self._candidate_words(slots)
        n_phrasings = len(owners)
        if not n_phrasings:
            return out, mass
        # Expand words to n-grams, remembering the phrasing of each n-gram.
        n_main_words = len(self._wg_ptr) - 1
        main = words < n_main_words
        main_words = words[main]
        gram_parts = [self._wg_ids[_gather_ranges(self._wg_ptr, main_words)].astype(np.int64)]
        counts = self._wg_ptr[main_words + 1] - self._wg_ptr[main_words]
        phrase_parts = [np.repeat(word_phrase[main], counts)]
        for w, p in zip(words[~main].tolist(), word_phrase[~main].tolist(), strict=True):
            gram_parts.append(self._word_grams[w].astype(np.int64))
            phrase_parts.append(np.full(len(gram_parts[-1]), p, dtype=np.int64))
        gram = np.concatenate(gram_parts)
        phrase = np.concatenate(phrase_parts)
        lengths = np.bincount(phrase, minlength=n_phrasings).astype(np.float32)
        keep = qidf[gram] > 0
        unique, tf = np.unique(phrase[keep] * n_grams + gram[keep], return_counts=True)
        matched = unique // n_grams
        k1, b = self._k1, self._b
        norm = k1 * (1.0 - b + b * lengths[matched] / max(self._avg_len, 1e-9))
        contrib = qidf[unique % n_grams] * tf * (k1 + 1.0) / (tf + norm)
        phrase_scores = np.bincount(matched, weights=contrib, minlength=n_phrasings)
        np.maximum.at(out, owners, phrase_scores.astype(np.float32))
        return out, mass

    def _candidate_words(self, slots: list[int]) -> tuple[LongArray, LongArray, LongArray]:
        """For every phrasing of `slots`: the position of its slot in `slots`; and the word ids
        of all those phrasings, concatenated, with the index of the phrasing of each."""
        positions = np.arange(len(slots), dtype=np.int64)
        targets = np.asarray(slots, dtype=np.int64)
        main = targets < self._main_slots
        rows = _gather_ranges(self._slot_ptr, targets[main])
        owners = [np.repeat(positions[main], np.diff(self._slot_ptr)[targets[main]])]
        sizes = [self._phr_ptr[rows + 1] - self._phr_ptr[rows]]
        words = [self._phr_words[_gather_ranges(self._phr_ptr, rows)].astype(np.int64)]
        for pos, slot in enumerate(slots):
            for pending in self._pending.get(slot, ()):
                owners.append(np.asarray([pos], dtype=np.int64))
                sizes.append(np.asarray([len(pending)], dtype=np.int64))
                words.append(pending)
        size = np.concatenate(sizes)
        phrase = np.repeat(np.arange(len(size), dtype=np.int64), size)
        return np.concatenate(owners), np.concatenate(words), phrase


class _Semantic:
    """A latent semantic space of the bank (LSA): terms that share documents get close vectors,
    so a query can reach an item that words its question differently ("cost" and "price").

    Term vectors come from a truncated SVD of a sample; an item's vector is summed from its
    terms only when it is a rerank candidate, from a per-item (forward) copy of its postings."""

    def __init__(self, dims: int, sample: int) -> None:
        self._dims = dims
        self._sample = sample
        self._vectors = np.zeros((0, 0), dtype=np.float32)  # per term id
        self._idf = np.zeros(0, dtype=np.float32)
        # Per field: slot -> range of (term, weight), for the slots of the last build.
        self._forward: list[tuple[LongArray, IntArray, FloatArray]] = []
        self._pending: dict[int, FloatArray] = {}

    def build(self, fields: list[tuple[LongArray, IntArray, IntArray]], df: IntArray) -> None:
        """`fields` holds (term, slot, tf) arrays per field, sorted by slot."""
        self._pending.clear()
        n_slots = int(max((int(s[-1]) + 1 for _, s, _ in fields if len(s)), default=0))
        self._idf = (np.log(max(n_slots, 1) / np.maximum(df, 1)) + 1.0).astype(np.float32)
        step = max(1, math.ceil(n_slots / self._sample))
        rows, cols, vals = [], [], []
        self._forward = []
        for terms, slots, tfs in fields:
            weights = self._weights(terms, tfs)
            chosen = slots % step == 0
            rows.append(slots[chosen].astype(np.int64) // step)
            cols.append(terms[chosen])
            vals.append(weights[chosen])
            ptr = np.searchsorted(slots, np.arange(n_slots + 1)).astype(np.int64)
            self._forward.append((ptr, terms.astype(np.int32), weights))
        self._vectors = _lsa_term_vectors(
            np.concatenate(rows or [np.zeros(0, np.int64)]),
            np.concatenate(cols or [np.zeros(0, np.int64)]),
            np.concatenate(vals or [np.zeros(0, np.float32)]),
            math.ceil(n_slots / step),
            len(df),
            self._dims,
        )

    def _weights(self, terms: LongArray, tfs: IntArray) -> FloatArray:
        weights = (1.0 + np.log(tfs.astype(np.float32))) * self._idf[terms]
        return weights.astype(np.float32)

    def _embed(self, weights: dict[int, float]) -> FloatArray:
        known = [(t, w) for t, w in weights.items() if 0 <= t < len(self._vectors)]
        vector = np.zeros(self._vectors.shape[1], dtype=np.float32)
        if known:
            terms = np.fromiter((t for t, _ in known), dtype=np.int64, count=len(known))
            scale = np.fromiter((w for _, w in known), dtype=np.float32, count=len(known))
            vector = (self._vectors[terms] * (scale * self._idf[terms])[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def add(self, slot: int, weights: dict[int, float]) -> None:
        self._pending[slot] = self._embed(weights)

    def discard(self, slot: int) -> None:
        self._pending.pop(slot, None)

    def similarity(self, query: dict[int, float], slots: list[int]) -> FloatArray:
        """Cosine of the query and each slot in the latent space, negatives cut to 0."""
        vector = self._embed(query)
        docs = np.zeros((len(slots), len(vector)), dtype=np.float32)
        main = np.asarray(slots, dtype=np.int64)
        owner = np.arange(len(slots), dtype=np.int64)
        if self._pending:
            keep = np.asarray([s not in self._pending for s in slots], dtype=bool)
            main, owner = main[keep], owner[keep]
        for ptr, terms, weights in self._forward:
            inside = main < len(ptr) - 1
            rows, owners = main[inside], owner[inside]
            lengths = ptr[rows + 1] - ptr[rows]
            filled = lengths > 0
            if not filled.any():
                continue
            positions = _gather_ranges(ptr, rows[filled])
            contrib = self._vectors[terms[positions]] * weights[positions][:, None]
            starts = np.concatenate([[0], np.cumsum(lengths[filled])[:-1]])
            docs[owners[filled]] += np.add.reduceat(contrib, starts, axis=0)
        for i, slot in enumerate(slots):
            pending = self._pending.get(slot)
            if pending is not None:
                docs[i] = pending
        norms = np.linalg.norm(docs, axis=1)
        cosine = (docs @ vector) / np.maximum(norms, 1e-9)
        result: FloatArray = np.maximum(cosine, 0.0).astype(np.float32)
        return result


def _spmm(
    rows: LongArray, cols: LongArray, vals: FloatArray, dense: FloatArray, n_rows: int
) -> FloatArray:
    """(sparse n_rows x n_cols given as sorted-by-row COO) @ dense."""
    out = np.zeros((n_rows, dense.shape[1]), dtype=np.float32)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[rows[starts]] = np.add.reduceat(dense[cols] * vals[:, None], starts, axis=0)
    return out


def _lsa_term_vectors(
    rows: LongArray, cols: LongArray, vals: FloatArray, n_rows: int, n_cols: int, dims: int
) -> FloatArray:
    """Right singular vectors (one row per term) of the weighted document-term matrix, by a
    randomized SVD (Halko et al.) that only needs sparse products, so numpy is enough."""
    rank = min(dims, n_rows, n_cols)
    if rank == 0 or not len(rows):
        return np.zeros((n_cols, 0), dtype=np.float32)
    by_row = np.argsort(rows, kind="stable")
    r_rows, r_cols, r_vals = rows[by_row], cols[by_row], vals[by_row]
    by_col = np.argsort(cols, kind="stable")
    c_rows, c_cols, c_vals = rows[by_col], cols[by_col], vals[by_col]

    def times(dense: FloatArray) -> FloatArray:  # X @ dense
        return _spmm(r_rows, r_cols, r_vals, dense, n_rows)

    def times_t(dense: FloatArray) -> FloatArray:  # X.T @ dense
        return _spmm(c_cols, c_rows, c_vals, dense, n_cols)

    rng = np.random.default_rng(0)
    width = min(rank + 16, n_rows, n_cols)
    basis = np.linalg.qr(times(rng.standard_normal((n_cols, width)).astype(np.float32)))[0]
    for _ in range(3):  # power iterations sharpen the leading subspace
        basis = np.linalg.qr(times_t(basis))[0]
        basis = np.linalg.qr(times(basis))[0]
    _, singular, vt = np.linalg.svd(times_t(basis).T, full_matrices=False)
    # Directions with no weight would only add noise to every vector: keep the real rank.
    keep = min(rank, int(np.count_nonzero(singular > singular[0] * 1e-4)))
    vectors: FloatArray = np.ascontiguousarray(vt[:keep].T, dtype=np.float32)
    return vectors


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def _release_free_memory() -> None:
    """Give the build's freed buffers back to the OS; glibc keeps them in the heap otherwise."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@dataclass(frozen=True)
class _Evidence:
    """How well one candidate matches the query, each on an absolute 0..1 scale."""

    question: float  # word BM25 on the question / best possible
    spelling: float  # n-gram BM25 on the question / the query's own n-gram mass
    similarity: float  # rapidfuzz token-set similarity with the best phrasing


@dataclass
class _Query:
    weights: dict[int, float]  # term id -> query weight (before idf)
    unresolved: int  # content words that match nothing in the index
    folded: str  # folded query text, for the string similarity
    gram_words: list[str]  # folded query words whose character n-grams are matched


class SearchIndex:
    """Mutable in-memory index; `search` sees every `add`/`remove` made before it."""

    def __init__(self, config: SearchConfig | None = None) -> None:
        self.config = config or SearchConfig()
        c = self.config
        self._analyzer = _Analyzer()
        self._grams = _GramIndex(c.ngram_sizes, c.ngram_k1, c.ngram_b)
        self._semantic = _Semantic(c.semantic_dims, c.semantic_sample)
        self._docs: dict[str, Document] = {}
        self._slot_of: dict[str, int] = {}
        self._slot_ids: list[str | None] = []
        self._phrasings: list[tuple[str, ...]] = []
        self._alive = np.zeros(0, dtype=bool)
        self._type_code = np.zeros(0, dtype=np.int32)
        self._theme_code = np.zeros(0, dtype=np.int32)
        self._lengths = np.zeros((0, _FIELDS), dtype=np.float32)
        self._codes: dict[str, int] = {}
        self._lang_counts: Counter[str] = Counter()
        # Live collection statistics: document frequency per term id, field length totals.
        self._df = np.zeros(0, dtype=np.int32)
        self._total_len = np.zeros(_FIELDS, dtype=np.float64)
        self._postings = [_Postings.empty() for _ in range(_FIELDS)]
        self._dead_main = 0
        # Side segment: documents added since the last merge, searched term by term.
        self._pending: dict[int, tuple[Counter[int], Counter[int], Counter[int]]] = {}
        self._pending_lengths: dict[int, tuple[float, float, float]] = {}
        self._pending_postings: dict[int, set[int]] = {}

    # ----------------------------------------------------------------------------- updates

    def __len__(self) -> int:
        return len(self._docs)

    def add(self, doc: Document) -> None:
        """Add or replace (same id) one document; the next search sees it."""
        if doc.id in self._docs:
            self.remove(doc.id)
        analysed = self._analyzer.analyse(doc, self.config.max_body_words)
        slot = len(self._slot_ids)
        self._ensure_capacity(slot + 1)
        self._docs[doc.id] = doc
        self._slot_of[doc.id] = slot
        self._slot_ids.append(doc.id)
        self._phrasings.append(analysed.phrasings)
        self._alive[slot] = True
        self._type_code[slot] = self._code("type:" + doc.type)
        self._theme_code[slot] = self._code("theme:" + doc.theme)
        self._lengths[slot] = analysed.lengths
        self._lang_counts[doc.lang] += 1
        self._count(analysed, +1)
        self._pending[slot] = (
            analysed.counts(QUESTION),
            analysed.counts(BODY),
            analysed.counts(TAGS),
        )
        self._pending_lengths[slot] = analysed.lengths
        for term in analysed.unique_terms():
            self._pending_postings.setdefault(term, set()).add(slot)
        self._grams.add(slot, self._phrasings[slot])
        self._semantic.add(slot, analysed.weights())

    def remove(self, doc_id: str) -> None:
        """Forget a document; unknown ids are ignored."""
        doc = self._docs.pop(doc_id, None)
        if doc is None:
            return
        slot = self._slot_of.pop(doc_id)
        analysed = self._analyzer.analyse(doc, self.config.max_body_words)
        self._count(analysed, -1)
        if self._pending.pop(slot, None) is None:
            self._dead_main += 1
        else:
            del self._pending_lengths[slot]
            for term in analysed.unique_terms():
                slots = self._pending_postings[term]
                slots.discard(slot)
                if not slots:
                    del self._pending_postings[term]
        self._grams.discard(slot)
        self._semantic.discard(slot)
        self._alive[slot] = False
        self._slot_ids[slot] = None
        self._phrasings[slot] = ()
        self._lang_counts[doc.lang] -= 1

    def bulk_load(self, docs: Iterable[Document]) -> None:
        """Add many documents (replacing same ids) and build the search arrays once."""
        for doc in docs:
            # Assigning keeps a replaced document at its old position; _merge analyses once.
            self._docs[doc.id] = doc
        self._merge()

    def _count(self, analysed: _Analysed, sign: int) -> None:
        terms = np.fromiter(analysed.unique_terms(), dtype=np.int64)
        if len(terms) and terms.max() >= len(self._df):
            grown = max(int(terms.max()) + 1, 2 * len(self._df))
            self._df = np.concatenate([self._df, np.zeros(grown - len(self._df), np.int32)])
        self._df[terms] += sign
        self._total_len += sign * np.asarray(analysed.lengths)

    def _code(self, key: str) -> int:
        return self._codes.setdefault(key, len(self._codes))

    def _ensure_capacity(self, size: int) -> None:
        if size <= len(self._alive):
            return
        grow = max(size, 2 * len(self._alive), 64) - len(self._alive)
        self._alive = np.concatenate([self._alive, np.zeros(grow, dtype=bool)])
        self._type_code = np.concatenate([self._type_code, np.zeros(grow, dtype=np.int32)])
        self._theme_code = np.concatenate([self._theme_code, np.zeros(grow, dtype=np.int32)])
        self._lengths = np.concatenate([self._lengths, np.zeros((grow, _FIELDS), np.float32)])

    def _merge(self) -> None:
        """Rebuild the main segment from the live documents, renumbering slots densely."""
        c = self.config
        docs = list(self._docs.values())
        n = len(docs)
        self._slot_ids = [d.id for d in docs]
        self._slot_of = {d.id: slot for slot, d in enumerate(docs)}
        self._phrasings = []
        self._alive = np.ones(n, dtype=bool)
        self._type_code = np.fromiter((self._code("type:" + d.type) for d in docs), np.int32, n)
        self._theme_code = np.fromiter((self._code("theme:" + d.theme) for d in docs), np.int32, n)
        self._lang_counts = Counter(d.lang for d in docs)
        self._pending.clear()
        self._pending_lengths.clear()
        self._pending_postings.clear()
        self._dead_main = 0
        lengths: list[tuple[float, float, float]] = []
        parts: list[list[tuple[LongArray, IntArray, IntArray]]] = [[] for _ in range(_FIELDS)]
        pairs_per_chunk: list[LongArray] = []
        for start in range(0, n, _CHUNK):
            batch = docs[start : start + _CHUNK]
            chunk = [self._analyzer.analyse(d, c.max_body_words) for d in batch]
            lengths.extend(a.lengths for a in chunk)
            self._phrasings.extend(a.phrasings for a in chunk)
            doc_terms: list[LongArray] = []
            for f in range(_FIELDS):
                terms, slots, tfs = _count_pairs(chunk, f, start)
                parts[f].append((terms, slots, tfs))
                doc_terms.append(slots.astype(np.int64) << 32 | terms)
            pairs_per_chunk.append(_unique(np.concatenate(doc_terms)) & 0xFFFFFFFF)
        n_terms = len(self._analyzer.term_id)
        self._df = np.zeros(n_terms, dtype=np.int32)
        for pairs in pairs_per_chunk:
            self._df += np.bincount(pairs, minlength=n_terms).astype(np.int32)
        del pairs_per_chunk
        self._lengths = np.asarray(lengths, dtype=np.float32).reshape(n, _FIELDS)
        self._total_len = self._lengths.sum(axis=0, dtype=np.float64)
        fields = [
            (
                np.concatenate([p[0] for p in parts[f]] or [np.zeros(0, np.int64)]),
                np.concatenate([p[1] for p in parts[f]] or [np.zeros(0, np.int32)]),
                np.concatenate([p[2] for p in parts[f]] or [np.zeros(0, np.int32)]),
            )
            for f in range(_FIELDS)
        ]
        del parts
        self._semantic.build(fields, self._df)
        bs = (c.question_b, c.body_b, c.tags_b)
        self._postings = [
            _Postings(n_terms, terms, slots, tfs, self._lengths[:, f], c.k1, bs[f])
            for f, (terms, slots, tfs) in enumerate(fields)
        ]
        del fields
        step = max(1, math.ceil(n / c.ngram_df_sample))
        sample = [fold(f"{d.title} {' '.join(d.alternates)} {d.body}") for d in docs[::step]]
        self._grams.build(self._phrasings, sample)
        _release_free_memory()

    def _needs_merge(self) -> bool:
        pending = len(self._pending) + self._dead_main
        limit = max(self.config.merge_min_pending, self.config.merge_pending_ratio * len(self))
        return pending > limit

    # ----------------------------------------------------------------------------- search

    def search(
        self,
        query: str,
        *,
        lang: str | None = None,
        limit: int = 10,
        types: Collection[str] | None = None,
        theme: str | None = None,
    ) -> list[Hit]:
        """Best matches for `query`, best first; `lang` is the query's language if known."""
        if not query.strip() or not self._docs or limit <= 0:
            return []
        if self._needs_merge():
            self._merge()
        c = self.config
        q = self._parse(query[: c.max_query_chars], lang or self._guess_lang(query))
        if not q.weights:
            return []
        n_slots = len(self._slot_ids)
        # Tags count towards the question score, so they share its accumulator.
        question = np.zeros(n_slots, dtype=np.float32)
        body = np.zeros(n_slots, dtype=np.float32)
        acc = (question, body, question)
        field_weights = (1.0, 1.0, c.tags_weight)
        # The best possible word score: every query word matched at saturation.
        max_score = q.unresolved * self._idf(-1) * (c.k1 + 1.0)
        for term, weight in q.weights.items():
            w = weight * self._idf(term)
            max_score += w * (c.k1 + 1.0)
            for f in range(_FIELDS):
                self._postings[f].add_to(acc[f], term, w * field_weights[f])
            for slot in self._pending_postings.get(term, ()):
                for f in range(_FIELDS):
                    acc[f][slot] += w * field_weights[f] * self._pending_impact(term, slot, f)
        mask = self._filter_mask(types, theme)
        if mask is not None:
            question[~mask] = 0.0
            body[~mask] = 0.0
        q_top = max(float(question.max()), 1e-9)
        b_top = max(float(body.max()), 1e-9)
        first = (c.question_weight / q_top) * question + (c.body_weight / b_top) * body
        candidates = np.flatnonzero(first > 0)
        if not len(candidates):
            return []
        depth = max(limit, c.rerank_depth)
        if len(candidates) > depth:
            candidates = candidates[np.argpartition(-first[candidates], depth - 1)[:depth]]
        slots = candidates.tolist()
        grams, gram_mass = self._grams.score(q.gram_words, slots)
        g_top = max(float(grams.max()), 1e-9)
        semantic = self._semantic.similarity(q.weights, slots).tolist()
        short_query = q.folded[: c.max_similarity_chars]
        rows: list[tuple[float, int, _Evidence]] = []
        for slot, gram, meaning in zip(slots, grams.tolist(), semantic, strict=True):
            evidence = _Evidence(
                question=float(question[slot]) / max(max_score, 1e-9),
                spelling=gram / max(gram_mass, 1e-9),
                similarity=self._similarity(short_query, self._phrasings[slot]),
            )
            score = (
                float(first[slot])
                + c.ngram_weight * gram / g_top
                + c.similarity_weight * evidence.similarity
                + c.semantic_weight * meaning
            )
            rows.append((score, slot, evidence))
        rows.sort(key=lambda r: -r[0])
        return self._hits(rows[:limit], rows[1][0] if len(rows) > 1 else 0.0)

    def _hits(self, rows: list[tuple[float, int, _Evidence]], runner_up: float) -> list[Hit]:
        top = rows[0][0]
        hits: list[Hit] = []
        ceiling = 1.0
        for i, (score, slot, evidence) in enumerate(rows):
            margin = (score - (runner_up if i == 0 else top)) / max(top, 1e-9)
            # Confidence never rises down the list: a lower hit is not a surer answer.
            ceiling = min(ceiling, self._confidence(evidence, margin))
            slot_id = self._slot_ids[slot]
            assert slot_id is not None
            hits.append(Hit(id=slot_id, score=score, confidence=ceiling))
        return hits

    def _confidence(self, evidence: _Evidence, margin: float) -> float:
        """Probability-like confidence: the query's words and spelling are found in the hit's
        question, and the hit stands clear of the runner-up (margin counts only as far as the
        query's words matched: a lone weak match is not a clear one)."""
        c = self.config
        z = (
            c.confidence_bias
            + c.confidence_spelling * min(evidence.spelling, 1.0)
            + c.confidence_similarity * evidence.similarity
            + c.confidence_clear * margin * min(evidence.question, 1.0)
        )
        return 1.0 / (1.0 + math.exp(-z))

    @staticmethod
    def _similarity(folded_query: str, phrasings: tuple[str, ...]) -> float:
        if not phrasings:
            return 0.0
        return max(fuzz.token_set_ratio(folded_query, p) for p in phrasings) / 100.0

    def _pending_impact(self, term: int, slot: int, f: int) -> float:
        tf = self._pending[slot][f].get(term, 0)
        if not tf:
            return 0.0
        c = self.config
        b = (c.question_b, c.body_b, c.tags_b)[f]
        avg = max(float(self._total_len[f]) / max(1, len(self._docs)), 1e-9)
        norm = c.k1 * (1.0 - b + b * self._pending_lengths[slot][f] / avg)
        return tf * (c.k1 + 1.0) / (tf + norm)

    def _doc_freq(self, term: int) -> int:
        return int(self._df[term]) if 0 <= term < len(self._df) else 0

    def _idf(self, term: int) -> float:
        """BM25 idf; term -1 stands for a word the index has never seen."""
        n = len(self._docs)
        df = self._doc_freq(term)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def _filter_mask(
        self, types: Collection[str] | None, theme: str | None
    ) -> npt.NDArray[np.bool_] | None:
        n = len(self._slot_ids)
        mask: npt.NDArray[np.bool_] | None = None
        if n != len(self._docs):
            mask = self._alive[:n].copy()
        if types is not None:
            codes = [self._codes[k] for k in (f"type:{t}" for t in types) if k in self._codes]
            type_mask = np.isin(self._type_code[:n], codes)
            mask = type_mask if mask is None else mask & type_mask
        if theme is not None:
            theme_mask = self._theme_code[:n] == self._codes.get("theme:" + theme, -1)
            mask = theme_mask if mask is None else mask & theme_mask
        return mask

    def _guess_lang(self, query: str) -> str:
        default = self._lang_counts.most_common(1)[0][0] if self._lang_counts else "en"
        return tx.guess_language(query, default=default)

    # ----------------------------------------------------------------------------- query

    def _parse(self, query: str, lang: str) -> _Query:
        c = self.config
        weights: dict[int, float] = {}
        unresolved = 0
        content: list[str] = []
        for word in tx.words(query):
            folded = fold(word)
            if (len(folded) < 2 and not folded.isdigit()) or tx.is_stopword(folded, lang):
                continue
            content.append(folded)
            if len(content) > c.max_query_terms:
                break
            resolved = self._resolve(word, folded, lang)
            if not resolved:
                unresolved += 1
            for term, weight in resolved:
                weights[term] = max(weights.get(term, 0.0), weight)
        # "back up", "git hub", "e mail": a pair of words the index knows as one word.
        for a, b in itertools.pairwise(content):
            for term in self._analyzer.surface.get(a + b, ()):
                if self._doc_freq(term) > 0:
                    weights[term] = max(weights.get(term, 0.0), 1.0)
        folded_words = tx.words(fold(query))
        # The n-gram rerank keeps stopwords: "quem pode" and "quanto custa" are what differ.
        gram_words = folded_words[: 2 * c.max_query_terms]
        return _Query(weights, unresolved, " ".join(folded_words), gram_words)

    def _resolve(self, word: str, folded: str, lang: str) -> list[tuple[int, float]]:
        """Index terms for one query word: its stem, its accented twin, or close spellings."""
        term_id = self._analyzer.term_id
        term = term_id.get(tx.stem_words([word], lang)[0], -1)
        if self._doc_freq(term) > 0:
            return [(term, 1.0)]
        known = [t for t in self._analyzer.surface.get(folded, ()) if self._doc_freq(t) > 0]
        if known:
            return [(t, 1.0) for t in sorted(known)]
        term = term_id.get(tx.stem_folded(folded, lang), -1)
        if self._doc_freq(term) > 0:
            return [(term, 1.0)]
        return self._fuzzy(folded)

    def _fuzzy(self, folded: str) -> list[tuple[int, float]]:
        c = self.config
        if len(folded) < c.fuzzy_min_length:
            return []
        spread = 1 if len(folded) < 6 else 2
        choices: list[str] = []
        for n in range(len(folded) - spread, len(folded) + spread + 1):
            choices.extend(self._analyzer.by_length.get(n, ()))
        matches = process.extract(
            folded,
            choices,
            scorer=fuzz.ratio,
            limit=c.fuzzy_candidates * 4,
            score_cutoff=c.fuzzy_cutoff,
        )
        out: dict[int, float] = {}
        for choice, score, _ in matches:
            for term in sorted(self._analyzer.surface.get(choice, ())):
                if self._doc_freq(term) > 0 and term not in out:
                    out[term] = c.fuzzy_weight * score / 100.0
            if len(out) >= c.fuzzy_candidates:
                break
        return sorted(out.items(), key=lambda kv: -kv[1])


def _count_pairs(
    chunk: list[_Analysed], field: int, first_slot: int
) -> tuple[LongArray, IntArray, IntArray]:
    """(term, slot, tf) triples of one field for a batch of analysed documents."""
    flat: list[int] = []
    sizes: list[int] = []
    for analysed in chunk:
        ids = analysed.fields[field]
        flat.extend(ids)
        sizes.append(len(ids))
    slots = np.repeat(np.arange(first_slot, first_slot + len(chunk), dtype=np.int64), sizes)
    terms = np.asarray(flat, dtype=np.int64)
    content = terms != _STOP
    keys, tfs = np.unique(slots[content] << 32 | terms[content], return_counts=True)
    return keys & 0xFFFFFFFF, (keys >> 32).astype(np.int32), tfs.astype(np.int32)
