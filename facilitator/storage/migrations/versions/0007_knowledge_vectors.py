"""knowledge vectors and translations

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:16:51.963339
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('knowledge_vectors',
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('text_hash', sa.String(length=32), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.Column('claimed_by', sa.String(length=32), nullable=True),
    sa.Column('claimed_until', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('model', 'text_hash', name=op.f('pk_knowledge_vectors'))
    )
    with op.batch_alter_table('knowledge_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('translation_of', sa.String(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('knowledge_items', schema=None) as batch_op:
        batch_op.drop_column('translation_of')

    op.drop_table('knowledge_vectors')
