"""Item vectors in memory and the nearest ones to a query vector.

A scan of every vector is exact and, up to `COARSE_FROM` items, cheap. Above that a query is
first scored against a lower-dimensional projection of the vectors (principal components of
the stored ones), and only the best few hundred are scored exactly: at 100,000 items of 512
dimensions that is a quarter of the memory read per query.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float32]

COARSE_FROM = 20_000
COARSE_DIMS = 96
COARSE_SAMPLE = 8192


class DenseIndex:
    def __init__(self, dims: int) -> None:
        self.dims = dims
        self._matrix = np.zeros((0, dims), dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._ids: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._basis: Vector | None = None  # dims x COARSE_DIMS
        self._coarse = np.zeros((0, COARSE_DIMS), dtype=np.float32)
        self._fitted_at = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._slot

    def nbytes(self) -> int:
        return int(self._matrix.nbytes + self._coarse.nbytes)

    def put(self, doc_id: str, vector: Vector) -> None:
        slot = self._slot.get(doc_id)
        if slot is None:
            slot = self._free.pop() if self._free else self._grow()
            self._slot[doc_id] = slot
            self._ids[slot] = doc_id
        self._matrix[slot] = vector
        self._alive[slot] = True
        if self._basis is not None:
            self._coarse[slot] = vector @ self._basis

    def put_many(self, pairs: list[tuple[str, Vector]]) -> None:
        new = sum(1 for doc_id, _ in pairs if doc_id not in self._slot)
        needed = len(self._ids) + max(0, new - len(self._free))
        if needed > len(self._matrix):
            # Exactly what a bulk load needs; an eighth more for a trickle of small batches.
            self._reserve(max(needed, len(self._matrix) + len(self._matrix) // 8))
        for doc_id, vector in pairs:
            self.put(doc_id, vector)
        self._refit_if_grown()

    def remove(self, doc_id: str) -> None:
        slot = self._slot.pop(doc_id, None)
        if slot is None:
            return
        self._alive[slot] = False
        self._ids[slot] = None
        self._free.append(slot)

    def vector(self, doc_id: str) -> Vector | None:
        slot = self._slot.get(doc_id)
        return None if slot is None else self._matrix[slot].copy()

    def cosine(self, doc_id: str, query: Vector) -> float | None:
        slot = self._slot.get(doc_id)
        return None if slot is None else float(self._matrix[slot] @ query)

    def top(
        self, query: Vector, k: int, allowed: Callable[[str], bool] | None = None
    ) -> list[tuple[str, float]]:
        """The `k` best (id, cosine) pairs, best first; `allowed` filters ids."""
        n = len(self._ids)
        if not self._slot or k <= 0:
            return []
        want = k if allowed is None else 4 * k
        if self._basis is not None and n > COARSE_FROM:
            rough = self._coarse[:n] @ (query @ self._basis)
            rough[~self._alive[:n]] = -np.inf
            shortlist = _best(rough, max(8 * want, 512))
            exact = self._matrix[shortlist] @ query
            order = np.argsort(-exact)
            slots, scores = shortlist[order], exact[order]
        else:
            scores_all = self._matrix[:n] @ query
            scores_all[~self._alive[:n]] = -np.inf
            slots = _best(scores_all, want)
            slots = slots[np.argsort(-scores_all[slots])]
            scores = scores_all[slots]
        out: list[tuple[str, float]] = []
        for slot, score in zip(slots.tolist(), scores.tolist(), strict=True):
            doc_id = self._ids[slot]
            if doc_id is None or score == -np.inf:
                continue
            if allowed is not None and not allowed(doc_id):
                continue
            out.append((doc_id, float(score)))
            if len(out) == k:
                break
        return out

    def _grow(self) -> int:
        slot = len(self._ids)
        if slot >= len(self._matrix):
            self._reserve(max(64, slot + 1, len(self._matrix) + len(self._matrix) // 8))
        self._ids.append(None)
        return slot

    def _reserve(self, size: int) -> None:
        """Room for `size` rows; a bulk load asks for exactly what it needs."""
        if size <= len(self._matrix):
            return
        used = len(self._ids)
        matrix = np.zeros((size, self.dims), dtype=np.float32)
        matrix[:used] = self._matrix[:used]
        alive = np.zeros(size, dtype=bool)
        alive[:used] = self._alive[:used]
        self._matrix, self._alive = matrix, alive
        if self._basis is not None:
            coarse = np.zeros((size, COARSE_DIMS), dtype=np.float32)
            coarse[:used] = self._coarse[:used]
            self._coarse = coarse

    def _refit_if_grown(self) -> None:
        """Fit the projection once there are enough vectors, again when they have doubled."""
        n = len(self._slot)
        if n <= COARSE_FROM or self.dims <= COARSE_DIMS or n < 2 * self._fitted_at:
            return
        rows = np.flatnonzero(self._alive[: len(self._ids)])
        sample = self._matrix[rows[:: max(1, len(rows) // COARSE_SAMPLE)]]
        centred = sample - sample.mean(axis=0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        self._basis = np.ascontiguousarray(vectors[:, -COARSE_DIMS:], dtype=np.float32)
        self._coarse = self._matrix @ self._basis
        self._fitted_at = n


def _best(scores: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    if len(scores) <= k:
        return np.arange(len(scores))
    return np.argpartition(-scores, k - 1)[:k]
