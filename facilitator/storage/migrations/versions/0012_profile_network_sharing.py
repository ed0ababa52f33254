"""member profiles shared with the network (/experts share)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member_profiles', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('network', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('member_profiles', schema=None) as batch_op:
        batch_op.drop_column('network')
