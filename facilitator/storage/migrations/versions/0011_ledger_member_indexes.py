"""ledger indexes for the members of a week

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:55:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_person')
        batch_op.create_index(
            'ix_ledger_person', ['person_id', 'community_id', 'occurred_at'], unique=False
        )
        batch_op.create_index(
            'ix_ledger_kind', ['community_id', 'kind', 'occurred_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_kind')
        batch_op.drop_index('ix_ledger_person')
        batch_op.create_index('ix_ledger_person', ['person_id', 'community_id'], unique=False)
