"""digest: members opt in to a private digest and follow themes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 03:11:22.028433
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_follows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_digest_follows_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_digest_follows_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_follows')),
    sa.UniqueConstraint('community_id', 'person_id', 'theme', name=op.f('uq_digest_follows_community_id_person_id_theme'))
    )
    with op.batch_alter_table('digest_follows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_follows_person_id'), ['person_id'], unique=False)

    op.create_table('digest_members',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('named', sa.Boolean(), nullable=False),
    sa.Column('since', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_digest_members_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_digest_members_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_members')),
    sa.UniqueConstraint('community_id', 'person_id', name=op.f('uq_digest_members_community_id_person_id'))
    )
    with op.batch_alter_table('digest_members', schema=None) as batch_op:
        batch_op.create_index('ix_digest_members_frequency', ['frequency'], unique=False)
        batch_op.create_index(batch_op.f('ix_digest_members_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('digest_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_members_person_id'))
        batch_op.drop_index('ix_digest_members_frequency')

    op.drop_table('digest_members')
    with op.batch_alter_table('digest_follows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_follows_person_id'))

    op.drop_table('digest_follows')
