"""answers and their ratings

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:41:04.497613
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('knowledge_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('gap_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_knowledge_answers_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['gap_id'], ['knowledge_gaps.id'], name=op.f('fk_knowledge_answers_gap_id_knowledge_gaps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['knowledge_items.id'], name=op.f('fk_knowledge_answers_item_id_knowledge_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_knowledge_answers_person_id_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_answers'))
    )
    with op.batch_alter_table('knowledge_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_answers_item_id'), ['item_id'], unique=False)

    op.create_table('knowledge_votes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('vote', sa.Integer(), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['knowledge_answers.id'], name=op.f('fk_knowledge_votes_answer_id_knowledge_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_knowledge_votes_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['knowledge_items.id'], name=op.f('fk_knowledge_votes_item_id_knowledge_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_knowledge_votes_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_votes')),
    sa.UniqueConstraint('answer_id', 'person_id', name=op.f('uq_knowledge_votes_answer_id_person_id'))
    )
    with op.batch_alter_table('knowledge_votes', schema=None) as batch_op:
        batch_op.create_index('ix_knowledge_votes_item', ['item_id', 'created_at'], unique=False)

    with op.batch_alter_table('knowledge_gaps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disliked_item', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_knowledge_gaps_disliked_item_knowledge_items'), 'knowledge_items', ['disliked_item'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('knowledge_gaps', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_knowledge_gaps_disliked_item_knowledge_items'), type_='foreignkey')
        batch_op.drop_column('disliked_item')

    with op.batch_alter_table('knowledge_votes', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_votes_item')

    op.drop_table('knowledge_votes')
    with op.batch_alter_table('knowledge_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_answers_item_id'))

    op.drop_table('knowledge_answers')
