"""announcements: posts on time, private copies on request

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:11:28.522580
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('announcement_subscribers',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_announcement_subscribers_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_announcement_subscribers_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', 'person_id', name=op.f('pk_announcement_subscribers'))
    )
    with op.batch_alter_table('announcement_subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_subscribers_person_id'), ['person_id'], unique=False)

    op.create_table('announcements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('versions', sa.JSON(), nullable=False),
    sa.Column('due_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pin', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['persons.id'], name=op.f('fk_announcements_author_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_announcements_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_announcements'))
    )
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcements_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_announcements_community', ['community_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_announcements_due', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('announcements', schema=None) as batch_op:
        batch_op.drop_index('ix_announcements_due')
        batch_op.drop_index('ix_announcements_community')
        batch_op.drop_index(batch_op.f('ix_announcements_author_id'))

    op.drop_table('announcements')
    with op.batch_alter_table('announcement_subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_subscribers_person_id'))

    op.drop_table('announcement_subscribers')
