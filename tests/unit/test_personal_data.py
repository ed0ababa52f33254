"""Every column that refers to a person or holds what a member wrote belongs to a table that
some feature's `/mydata` and `/forgetme` hooks cover (`Feature.personal_data`).

The lists below are the inventory: a new column that points at a person, or any new text
column, fails here until it is classified, and a table holding such a column fails until a
feature names it in its `PersonalData.tables`."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import JSON, String, Text

from facilitator.bootstrap import FEATURES, models
from facilitator.features.privacy.service import PersonalRecords

# Columns that refer to a person (by key or by platform account) or hold what a member wrote
# or said about themselves.
PERSONAL: dict[str, frozenset[str]] = {
    "persons": frozenset({"id", "language", "timezone"}),
    "identities": frozenset({"person_id", "platform_user_id", "display_name", "locale_hint"}),
    "memberships": frozenset({"person_id"}),
    "role_grants": frozenset({"platform_user_id"}),
    "link_codes": frozenset({"identity_id"}),
    "ledger": frozenset({"person_id", "identity_id"}),
    "questions": frozenset({"person_id", "identity_id", "answered_by", "text"}),
    "question_topics": frozenset({"terms"}),
    "outbox": frozenset({"person_id", "destination", "message", "fallback"}),
    # The raw event as the platform sent it; who sent it; the chat it is ordered with (a
    # private chat is the member's own); a rejection's reason, which may quote the payload.
    "inbox": frozenset({"payload", "sender", "ordering_key", "error"}),
    "knowledge_items": frozenset(
        {
            "created_by",
            "owner",
            "title",
            "body",
            "alternates",
            "tags",
            "url",
            "source",
            "author_id",
            "owner_id",
            "source_link",
        }
    ),
    # `chat_id` of a question asked privately is the asker's own chat.
    "knowledge_gaps": frozenset(
        {
            "person_id",
            "identity_id",
            "query",
            "chat_id",
            "assigned_to",
            "answer_identity",
            "answer_text",
            "answer_link",
        }
    ),
    # The question a member asked and the answer given; their votes on it.
    "knowledge_answers": frozenset({"person_id", "query"}),
    "knowledge_votes": frozenset({"person_id"}),
    "member_profiles": frozenset({"person_id", "organisation", "country", "expertise", "network"}),
    "private_chats": frozenset({"identity_id"}),
    "nudges": frozenset({"person_id"}),
    "participation_scores": frozenset({"person_id"}),
    # Which badges and levels a member was congratulated for.
    "recognitions": frozenset({"person_id"}),
    "polls": frozenset({"created_by", "question", "options"}),
    "poll_votes": frozenset({"person_id", "options"}),
    "webinars": frozenset({"speaker_person_id", "created_by", "title", "speaker", "link"}),
    "webinar_rsvps": frozenset({"person_id"}),
    "bookmarks": frozenset({"person_id"}),
    # Whether and how often they get the digest, whether they may be named; the themes they
    # follow.
    "digest_members": frozenset({"person_id"}),
    "digest_follows": frozenset({"person_id", "theme"}),
    # Who asked for a dashboard link and who signed in with it.
    "dashboard_links": frozenset({"person_id", "identity_id"}),
    "dashboard_sessions": frozenset({"person_id", "identity_id"}),
    # Who reported, whose message it was and who resolved it; the message's words and the
    # reporter's reason.
    "reports": frozenset({"reporter_id", "reported_id", "resolved_by", "text", "reason"}),
    # Who wrote an announcement and its texts; who asked for private copies.
    "announcements": frozenset({"author_id", "versions"}),
    "announcement_subscribers": frozenset({"person_id"}),
    # Who was matched with whom, and the asker's question; whether they take part.
    "matches": frozenset({"asker_id", "expert_id", "question"}),
    "match_opt_ins": frozenset({"person_id"}),
    # Who wrote a survey and its words; a member's answers (an anonymous survey's carry no
    # person: their words are all that is left), who answered, answers in progress.
    "surveys": frozenset({"created_by", "title", "questions"}),
    "survey_answers": frozenset({"person_id", "value"}),
    "survey_respondents": frozenset({"person_id"}),
    "survey_drafts": frozenset({"person_id", "answers"}),
}

# Text columns that hold neither: keys, kinds, states, platform references, settings.
NOT_PERSONAL: dict[str, frozenset[str]] = {
    "communities": frozenset(
        {"key", "platform", "chat_id", "title", "timezone", "language", "settings"}
    ),
    "identities": frozenset({"platform"}),
    "memberships": frozenset({"role"}),
    "role_grants": frozenset({"platform", "role"}),
    "link_codes": frozenset({"code"}),
    "ledger": frozenset({"kind", "source_event_id", "ref"}),
    "questions": frozenset({"source_event_id", "message_id", "thread_id", "lang"}),
    "question_topics": frozenset({"theme"}),
    "outbox": frozenset(
        {
            "dedup_key",
            "kind",
            "platform",
            "chat_id",
            "status",
            "claimed_by",
            "last_error",
            "platform_ref",
        }
    ),
    "inbox": frozenset({"platform", "delivery_id", "status"}),
    "knowledge_items": frozenset(
        {"scope", "key", "type", "status", "lang", "theme", "translation_of"}
    ),
    # Vectors of repository texts only (gap texts are compared in memory, never stored).
    "knowledge_vectors": frozenset({"model", "text_hash", "claimed_by"}),
    "knowledge_gaps": frozenset({"lang", "platform", "message_id", "status", "answer_message_id"}),
    "knowledge_answers": frozenset({"lang"}),
    "nudges": frozenset({"kind", "ref", "outbox_key"}),
    "dashboard_links": frozenset({"token_hash"}),
    "dashboard_sessions": frozenset({"session_hash"}),
    "recognitions": frozenset({"kind", "key"}),
    "participation_score_state": frozenset({"config_key"}),
    "polls": frozenset({"status", "thread_id", "message_ref", "native_ref", "final_counts"}),
    "webinars": frozenset({"timezone", "theme", "status", "checkin_code"}),
    "webinar_rsvps": frozenset({"answer"}),
    "digest_members": frozenset({"frequency"}),
    # Reports are filed in groups only: the chat and message are the group's.
    "reports": frozenset({"platform", "chat_id", "message_id", "link", "status"}),
    "announcements": frozenset({"status"}),
    "matches": frozenset({"round", "theme", "status", "asker_answer", "expert_answer"}),
    "surveys": frozenset({"template", "status"}),
    "survey_answers": frozenset({"response"}),
}

# Tables with personal data that no feature's hooks export and erase yet: none. Kept (empty)
# so that a gap has to be listed here, visibly, instead of joining silently.
NOT_YET_COVERED: frozenset[str] = frozenset()

TABLES = {table.name: table for table in models().metadata.sorted_tables}


def test_every_column_that_points_at_a_person_is_listed() -> None:
    pointing = {
        (table.name, column.name)
        for table in TABLES.values()
        for column in table.columns
        for key in column.foreign_keys
        if key.column.table.name in ("persons", "identities")
    }
    listed = {(table, column) for table, columns in PERSONAL.items() for column in columns}
    assert pointing - listed == set()


def test_every_text_column_is_classified() -> None:
    text_columns = {
        (table.name, column.name)
        for table in TABLES.values()
        for column in table.columns
        if isinstance(column.type, String | Text | JSON)
    }
    classified = {
        (table, column)
        for inventory in (PERSONAL, NOT_PERSONAL)
        for table, columns in inventory.items()
        for column in columns
    }
    assert text_columns - classified == set()
    both = {(t, c) for t, cs in PERSONAL.items() for c in cs if c in NOT_PERSONAL.get(t, ())}
    assert both == set()


def test_the_inventory_names_real_columns() -> None:
    for inventory in (PERSONAL, NOT_PERSONAL):
        for table, columns in inventory.items():
            assert table in TABLES, table
            assert columns <= {c.name for c in TABLES[table].columns}, table


def test_every_table_with_personal_data_is_covered_by_a_feature_hook() -> None:
    covered = PersonalRecords.of(FEATURES).tables
    uncovered = set(PERSONAL) - covered - NOT_YET_COVERED
    assert uncovered == set()
    assert NOT_YET_COVERED.isdisjoint(covered)


def test_each_table_is_named_by_one_feature_and_exists() -> None:
    named = Counter(
        table for f in FEATURES if f.personal_data is not None for table in f.personal_data.tables
    )
    assert [table for table, count in named.items() if count > 1] == []
    assert set(named) <= set(TABLES)
    assert set(named) <= set(PERSONAL)  # a hook for a table with nothing personal is a mistake
