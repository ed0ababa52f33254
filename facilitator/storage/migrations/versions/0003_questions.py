"""questions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 21:44:24.440094
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('questions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_event_id', sa.String(length=128), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('thread_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.String(length=1000), nullable=True),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('asked_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('bot_checked_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bot_answered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['persons.id'], name=op.f('fk_questions_answered_by_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_questions_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_questions_identity_id_identities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_questions_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questions')),
    sa.UniqueConstraint('community_id', 'source_event_id', name=op.f('uq_questions_community_id_source_event_id'))
    )
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_index('ix_questions_message', ['community_id', 'message_id'], unique=False)
        batch_op.create_index('ix_questions_open', ['community_id', 'answered_at', 'asked_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_index('ix_questions_open')
        batch_op.drop_index('ix_questions_message')

    op.drop_table('questions')
