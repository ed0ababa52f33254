"""reports: members flag messages to the moderators

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:26:47.842103
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reporter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reported_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('link', sa.String(length=2048), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('for_coordinators', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_reports_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reported_id'], ['persons.id'], name=op.f('fk_reports_reported_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['persons.id'], name=op.f('fk_reports_reporter_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by'], ['persons.id'], name=op.f('fk_reports_resolved_by_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('community_id', 'reporter_id', 'platform', 'chat_id', 'message_id', name=op.f('uq_reports_community_id_reporter_id_platform_chat_id_message_id'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_open', ['community_id', 'status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_reported_id'), ['reported_id'], unique=False)
        batch_op.create_index('ix_reports_reporter', ['reporter_id', 'community_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_reporter')
        batch_op.drop_index(batch_op.f('ix_reports_reported_id'))
        batch_op.drop_index('ix_reports_open')

    op.drop_table('reports')
