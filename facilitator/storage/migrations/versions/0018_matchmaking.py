"""matchmaking: monthly introductions across the network

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-07 03:11:39.104198
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0018'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('match_opt_ins',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('changed_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_match_opt_ins_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_match_opt_ins'))
    )
    op.create_table('matches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round', sa.String(length=7), nullable=False),
    sa.Column('asker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pair_low', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pair_high', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('asker_community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('expert_community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asker_answer', sa.String(length=16), nullable=True),
    sa.Column('expert_answer', sa.String(length=16), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('introduced_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_back_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('asker_met', sa.Boolean(), nullable=True),
    sa.Column('expert_met', sa.Boolean(), nullable=True),
    sa.Column('awaiting_learning', sa.Boolean(), nullable=False),
    sa.Column('learning_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['asker_community_id'], ['communities.id'], name=op.f('fk_matches_asker_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['asker_id'], ['persons.id'], name=op.f('fk_matches_asker_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_community_id'], ['communities.id'], name=op.f('fk_matches_expert_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_id'], ['persons.id'], name=op.f('fk_matches_expert_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_matches')),
    sa.UniqueConstraint('pair_low', 'pair_high', name=op.f('uq_matches_pair_low_pair_high')),
    sa.UniqueConstraint('round', 'asker_id', name=op.f('uq_matches_round_asker_id')),
    sa.UniqueConstraint('round', 'expert_id', name=op.f('uq_matches_round_expert_id'))
    )
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matches_expert_id'), ['expert_id'], unique=False)
        batch_op.create_index('ix_matches_status', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_index('ix_matches_status')
        batch_op.drop_index(batch_op.f('ix_matches_expert_id'))

    op.drop_table('matches')
    op.drop_table('match_opt_ins')
