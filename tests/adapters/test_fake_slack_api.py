"""The fake Slack Web API behaves like Slack for the real slack_sdk and slack_bolt clients."""

import json
import time

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.adapters.fakes import payloads_dir
from tests.adapters.fakes.slack_api import DEFAULT_TOKEN, FakeSlackAPI, dm_channel_id
from tests.fake_credentials import SLACK_OTHER_SIGNING_SECRET, SLACK_WRONG_BOT_TOKEN

SIGNING_SECRET = SLACK_OTHER_SIGNING_SECRET


def client_for(api: FakeSlackAPI, token: str = DEFAULT_TOKEN) -> AsyncWebClient:
    # No shared session: slack_sdk opens and closes one aiohttp session per call.
    return AsyncWebClient(token=token, base_url=api.base_url)


def slack_payload(name: str) -> str:
    return (payloads_dir() / "slack" / name).read_text(encoding="utf-8")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_auth_test_answers_the_bot_identity_for_a_valid_token(
    fake_slack: FakeSlackAPI,
) -> None:
    response = await client_for(fake_slack).auth_test()

    assert response.status_code == 200
    assert response["ok"] is True
    assert response["user_id"] == fake_slack.bot_user_id
    assert response["bot_id"] == fake_slack.bot_id
    assert response["team_id"] == fake_slack.team_id
    (call,) = fake_slack.calls_to("auth.test")
    assert call.headers["authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert call.token == DEFAULT_TOKEN


async def test_invalid_token_is_answered_with_invalid_auth(fake_slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client_for(fake_slack, token=SLACK_WRONG_BOT_TOKEN).auth_test()

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "invalid_auth"
    assert fake_slack.calls_to("auth.test")[0].error == "invalid_auth"


async def test_chat_post_message_is_recorded_with_its_json_params_and_returns_a_ts(
    fake_slack: FakeSlackAPI,
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]

    response = await client_for(fake_slack).chat_postMessage(
        channel="C0LEARNERS", text="hello", blocks=blocks, thread_ts="1700000000.000100"
    )

    assert response["channel"] == "C0LEARNERS"
    assert response["ts"] == response["message"]["ts"]
    assert response["message"]["text"] == "hello"
    assert response["message"]["blocks"] == blocks
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.headers["content-type"].startswith("application/json")
    assert call.params == {
        "channel": "C0LEARNERS",
        "text": "hello",
        "blocks": blocks,
        "thread_ts": "1700000000.000100",
    }
    assert fake_slack.messages[("C0LEARNERS", response["ts"])]["text"] == "hello"


async def test_each_posted_message_gets_a_new_ts(fake_slack: FakeSlackAPI) -> None:
    client = client_for(fake_slack)

    first = await client.chat_postMessage(channel="C1", text="one")
    second = await client.chat_postMessage(channel="C1", text="two")

    assert first["ts"] != second["ts"]


async def test_form_encoded_bodies_and_query_strings_are_both_read(
    fake_slack: FakeSlackAPI,
) -> None:
    client = client_for(fake_slack)

    await client.api_call("chat.postMessage", data={"channel": "C1", "text": "from a form"})
    await client.reactions_add(channel="C1", timestamp="1.000001", name="tada")

    (form_call,) = fake_slack.calls_to("chat.postMessage")
    assert form_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_call.params == {"channel": "C1", "text": "from a form"}
    (reaction_call,) = fake_slack.calls_to("reactions.add")
    assert reaction_call.params == {"channel": "C1", "timestamp": "1.000001", "name": "tada"}


async def test_users_info_with_include_locale_returns_the_configured_locale(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.set_user("U0MARIA", name="maria", locale="es-LA", is_admin=True)
    client = client_for(fake_slack)

    with_locale = await client.users_info(user="U0MARIA", include_locale=True)
    without_locale = await client.users_info(user="U0MARIA")

    assert with_locale["user"]["id"] == "U0MARIA"
    assert with_locale["user"]["name"] == "maria"
    assert with_locale["user"]["is_admin"] is True
    assert with_locale["user"]["locale"] == "es-LA"
    assert "locale" not in without_locale["user"]
    assert fake_slack.calls_to("users.info")[0].params == {
        "user": "U0MARIA",
        "include_locale": "1",
    }


async def test_conversations_open_returns_a_dm_channel_derived_from_the_user(
    fake_slack: FakeSlackAPI,
) -> None:
    client = client_for(fake_slack)

    first = await client.conversations_open(users="U0MARIA")
    again = await client.conversations_open(users=["U0MARIA"])

    assert first["channel"]["id"] == dm_channel_id("U0MARIA") == "D0MARIA"
    assert again["channel"]["id"] == "D0MARIA"
    assert again["already_open"] is True


async def test_views_publish_is_recorded_with_the_view(fake_slack: FakeSlackAPI) -> None:
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }

    response = await client_for(fake_slack).views_publish(user_id="U0MARIA", view=view)

    assert response["view"]["type"] == "home"
    assert response["view"]["blocks"] == view["blocks"]
    (call,) = fake_slack.calls_to("views.publish")
    assert call.params == {"user_id": "U0MARIA", "view": view}


async def test_files_upload_v2_sends_the_bytes_to_the_fake_upload_url(
    fake_slack: FakeSlackAPI,
) -> None:
    payload = b"week 1 notes\n\x00\xff binary tail"

    response = await client_for(fake_slack).files_upload_v2(
        channel="C0LEARNERS",
        content=payload,
        filename="notes.txt",
        title="Week 1",
        initial_comment="Here you go",
    )

    file_id = response["file"]["id"]
    assert response["file"]["title"] == "Week 1"
    assert fake_slack.uploaded_bytes(file_id) == payload
    upload = fake_slack.files[file_id]
    assert upload.completed is True
    assert upload.length == len(payload)
    assert upload.channel_id == "C0LEARNERS"
    assert upload.initial_comment == "Here you go"
    assert [call.method for call in fake_slack.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]


async def test_injected_ratelimit_surfaces_as_slack_api_error_with_429_and_retry_after(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.fail_next("chat.postMessage", retry_after=7)
    client = client_for(fake_slack)

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="too fast")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"
    assert (await client.chat_postMessage(channel="C1", text="later"))["ok"] is True


async def test_the_sdk_rate_limit_retry_handler_retries_and_succeeds(
    fake_slack: FakeSlackAPI,
) -> None:
    # Retry-After 0 keeps the handler's sleep (Retry-After + random 0..1 s) short.
    fake_slack.fail_next("chat.postMessage", retry_after=0)
    client = AsyncWebClient(
        token=DEFAULT_TOKEN,
        base_url=fake_slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    response = await client.chat_postMessage(channel="C1", text="eventually")

    assert response["ok"] is True
    assert [call.status for call in fake_slack.calls_to("chat.postMessage")] == [429, 200]


async def test_not_in_channel_surfaces_as_slack_api_error_with_http_200(
    fake_slack: FakeSlackAPI,
) -> None:
    fake_slack.fail_next("chat.postMessage", error="not_in_channel", channel="C0PRIVATE")
    client = client_for(fake_slack)

    assert (await client.chat_postMessage(channel="C0OTHER", text="fine"))["ok"] is True
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0PRIVATE", text="nope")

    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "not_in_channel"


async def test_a_fault_repeats_the_given_number_of_times(fake_slack: FakeSlackAPI) -> None:
    fake_slack.fail_next("conversations.info", error="channel_not_found", times=2)
    client = client_for(fake_slack)

    for _ in range(2):
        with pytest.raises(SlackApiError, match="channel_not_found"):
            await client.conversations_info(channel="C1")
    info = await client.conversations_info(channel="C1", include_locale=True)

    assert info["channel"]["id"] == "C1"
    assert info["channel"]["locale"] == "en-US"


async def test_unknown_methods_are_answered_with_unknown_method(fake_slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client_for(fake_slack).api_call("nonsense.method")

    assert caught.value.response["error"] == "unknown_method"


async def test_enforced_pacing_answers_429_until_the_clock_moves_on() -> None:
    clock = FakeClock()
    async with FakeSlackAPI(clock=clock) as api:
        api.enforce_limits(per_channel_per_second=1)
        client = client_for(api)

        await client.chat_postMessage(channel="C1", text="first")
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C1", text="second")
        await client.chat_postMessage(channel="C2", text="other channel")
        clock.now += 1.0
        await client.chat_postMessage(channel="C1", text="a second later")

    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert [(c.params["channel"], c.status) for c in api.calls] == [
        ("C1", 200),
        ("C1", 429),
        ("C2", 200),
        ("C1", 200),
    ]
    assert [c.at for c in api.calls] == [1000.0, 1000.0, 1000.0, 1001.0]


async def test_conversations_members_pages_with_a_cursor(fake_slack: FakeSlackAPI) -> None:
    fake_slack.set_channel("C1", members=["U1", "U2", "U3"])
    client = client_for(fake_slack)

    first = await client.conversations_members(channel="C1", limit=2)
    second = await client.conversations_members(
        channel="C1", limit=2, cursor=first["response_metadata"]["next_cursor"]
    )

    assert first["members"] == ["U1", "U2"]
    assert second["members"] == ["U3"]
    assert second["response_metadata"]["next_cursor"] == ""


async def test_chat_update_and_delete_change_the_recorded_message(
    fake_slack: FakeSlackAPI,
) -> None:
    client = client_for(fake_slack)
    posted = await client.chat_postMessage(channel="C1", text="draft")

    updated = await client.chat_update(channel="C1", ts=posted["ts"], text="final")
    assert updated["text"] == "final"
    assert fake_slack.messages[("C1", posted["ts"])]["text"] == "final"

    await client.chat_delete(channel="C1", ts=posted["ts"])
    assert ("C1", posted["ts"]) not in fake_slack.messages


async def test_wait_for_calls_returns_once_enough_calls_arrived(fake_slack: FakeSlackAPI) -> None:
    await client_for(fake_slack).chat_postEphemeral(channel="C1", user="U1", text="psst")

    calls = await fake_slack.wait_for_calls("chat.postEphemeral", 1, timeout=1.0)

    assert calls[0].params["user"] == "U1"


async def test_wait_for_calls_raises_when_the_calls_do_not_arrive(
    fake_slack: FakeSlackAPI,
) -> None:
    started = time.monotonic()

    with pytest.raises(TimeoutError, match=r"chat\.postMessage"):
        await fake_slack.wait_for_calls("chat.postMessage", 1, timeout=0.1)

    assert time.monotonic() - started < 1.0


async def test_a_bolt_async_app_authenticates_against_the_fake(fake_slack: FakeSlackAPI) -> None:
    # AsyncApp takes its token from the client when one is given (a token= argument is then
    # ignored), so the client must carry the token.
    app = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
    )

    response = await app.client.auth_test()

    assert response["user_id"] == fake_slack.bot_user_id
    assert len(fake_slack.calls_to("auth.test")) == 1


async def test_a_signed_event_through_bolt_calls_auth_test_once_and_replies_via_the_fake(
    fake_slack: FakeSlackAPI,
) -> None:
    app = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        process_before_response=True,
    )

    @app.event("app_mention")
    async def reply(event: dict[str, str], say: object) -> None:
        assert callable(say)
        await say(text=f"hi <@{event['user']}>")

    envelope = json.loads(slack_payload("slack_bolt_event_app_mention.json"))
    raw = json.dumps(envelope)

    responses: list[BoltResponse] = []
    for _ in range(2):
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=timestamp, body=raw
        )
        assert signature is not None
        request = AsyncBoltRequest(
            body=raw,
            headers={
                "content-type": "application/json",
                "x-slack-request-timestamp": timestamp,
                "x-slack-signature": signature,
            },
        )
        responses.append(await app.async_dispatch(request))

    assert [r.status for r in responses] == [200, 200]
    assert len(fake_slack.calls_to("auth.test")) == 1
    posts = await fake_slack.wait_for_calls("chat.postMessage", 2, timeout=2.0)
    assert posts[0].params["channel"] == envelope["event"]["channel"]
    assert posts[0].params["text"] == f"hi <@{envelope['event']['user']}>"
    assert posts[0].params["team_id"] == envelope["team_id"]


async def test_bolt_rejects_an_event_with_a_bad_signature_without_calling_slack(
    fake_slack: FakeSlackAPI,
) -> None:
    app = AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
    )
    raw = slack_payload("slack_bolt_event_app_mention.json")

    response = await app.async_dispatch(
        AsyncBoltRequest(
            body=raw,
            headers={
                "content-type": "application/json",
                "x-slack-request-timestamp": str(int(time.time())),
                "x-slack-signature": "v0=0000",
            },
        )
    )

    assert response.status == 401
    assert fake_slack.calls == []
