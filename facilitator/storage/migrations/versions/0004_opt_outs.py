"""opt outs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:19:54.434333
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opted_out_tracking', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('opted_out_nudges', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('opted_out_nudges')
        batch_op.drop_column('opted_out_tracking')

