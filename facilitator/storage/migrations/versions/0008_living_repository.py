"""living repository: gaps as a worklist, saved answers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:57:47.675364
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('knowledge_gaps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('platform', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('chat_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('is_direct', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('closed_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('assigned_to', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('answer_message_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answer_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('answer_identity', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('answer_link', sa.String(length=2000), nullable=True))
        batch_op.create_index('ix_knowledge_gaps_message', ['community_id', 'message_id'], unique=False)
        batch_op.create_index('ix_knowledge_gaps_open', ['community_id', 'status'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_gaps_assigned_to_identities'), 'identities', ['assigned_to'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_gaps_answer_identity_identities'), 'identities', ['answer_identity'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_gaps_item_id_knowledge_items'), 'knowledge_items', ['item_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_gaps_identity_id_identities'), 'identities', ['identity_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('knowledge_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('source_link', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('announced_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_items_author_id_identities'), 'identities', ['author_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_items_owner_id_identities'), 'identities', ['owner_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('knowledge_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_knowledge_items_owner_id_identities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_knowledge_items_author_id_identities'), type_='foreignkey')
        batch_op.drop_column('announced_at')
        batch_op.drop_column('owner_id')
        batch_op.drop_column('source_link')
        batch_op.drop_column('author_id')

    with op.batch_alter_table('knowledge_gaps', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_knowledge_gaps_identity_id_identities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_knowledge_gaps_item_id_knowledge_items'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_knowledge_gaps_answer_identity_identities'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_knowledge_gaps_assigned_to_identities'), type_='foreignkey')
        batch_op.drop_index('ix_knowledge_gaps_open')
        batch_op.drop_index('ix_knowledge_gaps_message')
        batch_op.drop_column('answer_link')
        batch_op.drop_column('answer_identity')
        batch_op.drop_column('answer_text')
        batch_op.drop_column('answer_message_id')
        batch_op.drop_column('assigned_to')
        batch_op.drop_column('item_id')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('status')
        batch_op.drop_column('is_direct')
        batch_op.drop_column('message_id')
        batch_op.drop_column('chat_id')
        batch_op.drop_column('platform')
        batch_op.drop_column('identity_id')

