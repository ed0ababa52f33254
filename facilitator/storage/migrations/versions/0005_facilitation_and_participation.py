"""facilitation and participation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 23:27:27.457311
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import facilitator.storage.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('member_profiles',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('country', sa.String(length=100), nullable=True),
    sa.Column('expertise', sa.JSON(), nullable=False),
    sa.Column('updated_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_member_profiles_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_member_profiles'))
    )
    op.create_table('nudges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=128), nullable=False),
    sa.Column('outbox_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_nudges_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_nudges_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nudges')),
    sa.UniqueConstraint('community_id', 'person_id', 'kind', 'ref', name=op.f('uq_nudges_community_id_person_id_kind_ref'))
    )
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.create_index('ix_nudges_recent', ['community_id', 'person_id', 'kind', 'created_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('destination', sa.JSON(), nullable=False),
    sa.Column('message', sa.JSON(), nullable=False),
    sa.Column('fallback', sa.JSON(), nullable=True),
    sa.Column('is_nudge', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('platform_ref', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_outbox_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_outbox_person_id_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_outbox_dedup_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_community', ['community_id', 'status'], unique=False)
        batch_op.create_index('ix_outbox_due', ['status', 'available_at'], unique=False)
        batch_op.create_index('ix_outbox_lane', ['platform', 'chat_id', 'status'], unique=False)

    op.create_table('participation_score_state',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('config_key', sa.String(length=64), nullable=False),
    sa.Column('rebuilt_on', sa.Date(), nullable=False),
    sa.Column('updated_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_participation_score_state_community_id_communities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', name=op.f('pk_participation_score_state'))
    )
    op.create_table('participation_scores',
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points_all', sa.Double(), nullable=False),
    sa.Column('points_week', sa.Double(), nullable=False),
    sa.Column('points_month', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_participation_scores_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_participation_scores_person_id_persons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('community_id', 'person_id', name=op.f('pk_participation_scores'))
    )
    with op.batch_alter_table('participation_scores', schema=None) as batch_op:
        batch_op.create_index('ix_participation_scores_all', ['community_id', 'points_all'], unique=False)
        batch_op.create_index('ix_participation_scores_month', ['community_id', 'points_month'], unique=False)
        batch_op.create_index('ix_participation_scores_week', ['community_id', 'points_week'], unique=False)

    op.create_table('polls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('question', sa.String(length=300), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('multiple', sa.Boolean(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('remind', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('thread_id', sa.String(length=64), nullable=True),
    sa.Column('message_ref', sa.String(length=64), nullable=True),
    sa.Column('native_ref', sa.String(length=128), nullable=True),
    sa.Column('final_counts', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_polls_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['persons.id'], name=op.f('fk_polls_created_by_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index('ix_polls_community_status', ['community_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_polls_native_ref'), ['native_ref'], unique=False)

    op.create_table('poll_votes',
    sa.Column('poll_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('voted_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_poll_votes_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_votes_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'person_id', name=op.f('pk_poll_votes'))
    )
    op.create_table('private_chats',
    sa.Column('identity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name=op.f('fk_private_chats_identity_id_identities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('identity_id', name=op.f('pk_private_chats'))
    )
    op.create_table('question_topics',
    sa.Column('question_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_question_topics_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_topics_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', name=op.f('pk_question_topics'))
    )
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_topics_community_id'), ['community_id'], unique=False)

    op.create_table('webinars',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('community_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=True),
    sa.Column('speaker', sa.String(length=200), nullable=True),
    sa.Column('speaker_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('theme', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checkin_code', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recording_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('feedback_poll_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_webinars_community_id_communities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['persons.id'], name=op.f('fk_webinars_created_by_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['feedback_poll_id'], ['polls.id'], name=op.f('fk_webinars_feedback_poll_id_polls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recording_item_id'], ['knowledge_items.id'], name=op.f('fk_webinars_recording_item_id_knowledge_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['speaker_person_id'], ['persons.id'], name=op.f('fk_webinars_speaker_person_id_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webinars'))
    )
    with op.batch_alter_table('webinars', schema=None) as batch_op:
        batch_op.create_index('ix_webinars_community_start', ['community_id', 'starts_at'], unique=False)

    op.create_table('webinar_rsvps',
    sa.Column('webinar_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=False),
    sa.Column('answered_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attended_at', facilitator.storage.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_webinar_rsvps_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['webinar_id'], ['webinars.id'], name=op.f('fk_webinar_rsvps_webinar_id_webinars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('webinar_id', 'person_id', name=op.f('pk_webinar_rsvps'))
    )
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_ref', ['community_id', 'ref'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_ref')

    op.drop_table('webinar_rsvps')
    with op.batch_alter_table('webinars', schema=None) as batch_op:
        batch_op.drop_index('ix_webinars_community_start')

    op.drop_table('webinars')
    with op.batch_alter_table('question_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_topics_community_id'))

    op.drop_table('question_topics')
    op.drop_table('private_chats')
    op.drop_table('poll_votes')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_polls_native_ref'))
        batch_op.drop_index('ix_polls_community_status')

    op.drop_table('polls')
    with op.batch_alter_table('participation_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_scores_week')
        batch_op.drop_index('ix_participation_scores_month')
        batch_op.drop_index('ix_participation_scores_all')

    op.drop_table('participation_scores')
    op.drop_table('participation_score_state')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_lane')
        batch_op.drop_index('ix_outbox_due')
        batch_op.drop_index('ix_outbox_community')

    op.drop_table('outbox')
    with op.batch_alter_table('nudges', schema=None) as batch_op:
        batch_op.drop_index('ix_nudges_recent')

    op.drop_table('nudges')
    op.drop_table('member_profiles')
