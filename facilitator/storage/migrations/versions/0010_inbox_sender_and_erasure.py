"""inbox sender and erasure

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:38:32.811581
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('forget', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.alter_column('payload',
               existing_type=sa.TEXT(),
               nullable=True)
        batch_op.create_index('ix_inbox_sender', ['platform', 'sender'], unique=False)


def downgrade() -> None:
    # Rows whose payload was cleared go back to an empty payload (the column is required there).
    op.execute(sa.text("UPDATE inbox SET payload = '' WHERE payload IS NULL"))
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_sender')
        batch_op.alter_column('payload',
               existing_type=sa.TEXT(),
               nullable=False)
        batch_op.drop_column('forget')
        batch_op.drop_column('sender')
