"""recognitions: badges and levels congratulated once

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 03:09:27.363522
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('recognitions',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('recognised_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_recognitions_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_recognitions_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', 'person_id', 'kind', 'key', name=op.f('pk_recognitions'))
    )
    with op.batch_alter_table('recognitions', schema=None) as batch_op:
        batch_op.create_index('ix_recognitions_person', ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('recognitions', schema=None) as batch_op:
        batch_op.drop_index('ix_recognitions_person')

    op.drop_table('recognitions')
