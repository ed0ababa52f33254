"""The background job that gives repository items their vectors.

Each run loads the backend (once), brings the knowledge base up to date, takes the vectors
already stored for what is missing, then claims the rest in small batches, embeds them on the
encoder's own thread and stores them. A claim is a row with an expiry: with several workers,
each text is embedded once, and a worker that dies mid-batch only delays its batch by the
lease.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta

import numpy as np

from facilitator.features.knowledge.ports import VectorRepository
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

BATCH = 8  # texts per forward pass: a lookup waits for at most one batch on the encoder
CLAIM = 64  # texts claimed at a time
LEASE = timedelta(minutes=5)
KEEP_UNUSED = timedelta(days=1)
# One run stops claiming after this long; the next run goes on.
RUN_SECONDS = 240.0


class Embedder:
    def __init__(self, uow_factory: UnitOfWorkFactory, knowledge: KnowledgeBase) -> None:
        self._uow_factory = uow_factory
        self._knowledge = knowledge
        self.worker = uuid.uuid4().hex

    async def load_stored(self) -> int:
        """Take the vectors already stored for this backend (no embedding); returns how many
        items got theirs."""
        kb = self._knowledge
        encoder = await kb.load_encoder()
        if encoder is None:
            return 0
        async with self._uow_factory() as uow:
            await kb.sync(uow)
            missing = kb.missing_vectors()
            stored = await uow.repo(VectorRepository).stored(encoder.model, sorted(missing))
            vectors = {h: _vector(blob, encoder.dims) for h, blob in stored.items()}
            broken = sorted(h for h, v in vectors.items() if v is None)
            if broken:
                # Written by something else or damaged: embedded again.
                log.warning("stored vectors unreadable", extra={"count": len(broken)})
                await uow.repo(VectorRepository).reset(encoder.model, broken)
                await uow.commit()
        return kb.put_vectors({h: v for h, v in vectors.items() if v is not None})

    async def run(self, now: datetime) -> int:
        """Embed what is missing; returns how many texts this process embedded."""
        kb = self._knowledge
        encoder = await kb.load_encoder()
        if encoder is None:
            return 0
        await self.load_stored()
        embedded = 0
        started = time.monotonic()
        pending = sorted(kb.missing_vectors())
        for start in range(0, len(pending), CLAIM):
            if time.monotonic() - started > RUN_SECONDS:
                break  # the next run goes on
            wanted = [h for h in pending[start : start + CLAIM] if kb.is_missing(h)]
            if not wanted:
                continue
            # The lease runs from the claim, not from the start of the run.
            claimed_at = now + timedelta(seconds=time.monotonic() - started)
            async with self._uow_factory() as uow:
                mine = await uow.repo(VectorRepository).claim(
                    encoder.model, wanted, self.worker, claimed_at, claimed_at + LEASE
                )
                await uow.commit()
            # What others claimed is picked up from the database by a later run.
            for at in range(0, len(mine), BATCH):
                texts = {h: t for h in mine[at : at + BATCH] if (t := kb.text_of(h)) is not None}
                if not texts:
                    continue
                batch = list(texts)
                vectors = await kb.embed_passages(list(texts.values()))
                done = dict(zip(batch, vectors, strict=True))
                async with self._uow_factory() as uow:
                    await uow.repo(VectorRepository).store(
                        encoder.model, {h: _blob(v) for h, v in done.items()}
                    )
                    await uow.commit()
                kb.put_vectors(done)
                embedded += len(batch)
        if embedded:
            log.info(
                "knowledge embedded",
                extra={
                    "texts": embedded,
                    "model": encoder.model,
                    "waiting": len(kb.missing_vectors()),
                },
            )
        return embedded


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _vector(blob: bytes, dims: int) -> np.ndarray | None:
    if len(blob) != 4 * dims:
        return None
    vector = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    return vector if np.isfinite(vector).all() else None


class VectorSweep:
    """Removes stored vectors no item needs any more (an edited or removed item's old text, a
    deleted community's content, another model's vectors) once they are a day old: what is
    not wanted is not kept."""

    def __init__(self, uow_factory: UnitOfWorkFactory, knowledge: KnowledgeBase) -> None:
        self._uow_factory = uow_factory
        self._knowledge = knowledge

    async def run(self, now: datetime) -> int:
        kb = self._knowledge
        encoder = kb.encoder
        if encoder is None:
            return 0
        async with self._uow_factory() as uow:
            await kb.sync(uow)
            removed = await uow.repo(VectorRepository).sweep(
                encoder.model, kb.wanted_hashes(), now - KEEP_UNUSED
            )
            await uow.commit()
        if removed:
            log.info("unused vectors removed", extra={"count": removed})
        return removed
