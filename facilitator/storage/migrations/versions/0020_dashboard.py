"""dashboard: sign-in links and sessions

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 03:18:08.894798
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dashboard_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_dashboard_links_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_dashboard_links_identity_id_identities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_dashboard_links_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_dashboard_links'))
    )
    with op.batch_alter_table('dashboard_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_links_person_id'), ['person_id'], unique=False)

    op.create_table('dashboard_sessions',
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_dashboard_sessions_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_dashboard_sessions_identity_id_identities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_dashboard_sessions_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_hash', name=op.f('pk_dashboard_sessions'))
    )
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_sessions_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_sessions_person_id'))

    op.drop_table('dashboard_sessions')
    with op.batch_alter_table('dashboard_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_links_person_id'))

    op.drop_table('dashboard_links')
