"""Every Slack Web API call: pacing, bounded 429 retries, and SDK errors mapped to core errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.retries import MAX_INLINE_WAIT, retry_after, retry_handlers
from facilitator.delivery.handover import about_to_send
from facilitator.domain.errors import (
    ConversationUnavailable,
    DeliveryError,
    RecipientUnreachable,
    RetryLater,
)

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# The bot is not (or no longer) in the conversation, or the conversation is gone or closed.
UNAVAILABLE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "channel_is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "cannot_reply_to_message",
        "ekm_access_denied",
        "team_access_not_granted",
        "message_not_found",
    }
)
# The person cannot be reached (gone, deactivated, not in the channel for an ephemeral).
UNREACHABLE = frozenset(
    {"user_not_found", "user_not_in_channel", "user_disabled", "cannot_dm_bot", "users_not_found"}
)
# A modal can no longer be opened with this trigger (it lives three seconds and opens one view).
TRIGGER_GONE = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})
# The token no longer works: the app was uninstalled or its token revoked.
REVOKED = frozenset(
    {"invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed"}
)


# The calls that may put something in front of a member: the sender is told right before each
# (`delivery.handover`), after the channel's pacing.
DELIVERING = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "views.publish",
        "views.open",
        "files.completeUploadExternal",
    }
)
# The hosts of Slack's own files: the only places the bot token goes besides the Web API.
SLACK_FILE_ORIGINS = frozenset({"https://files.slack.com"})
_DOWNLOAD_CHUNK = 64 * 1024
_MAX_REDIRECTS = 3


class FileRefused(Exception):
    """A file download that did not happen: a host the token may not go to, an error
    answer, or more bytes than allowed (`too_large`)."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower-cased; None for anything not http(s)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username:
        return None
    origin = f"{parts.scheme}://{parts.hostname.lower()}"
    return f"{origin}:{port}" if port is not None else origin


class ChannelPacer:
    """About one message per second per channel, as Slack asks for chat.postMessage.

    Each call reserves the next free slot of its channel, so concurrent senders queue up in
    order; nothing is dropped, callers only wait.

    Written here rather than an aiolimiter `AsyncLimiter(1, interval)` per channel, which would
    pace alike: AsyncLimiter keeps time with the event loop's clock and sleeps with loop timers,
    so the clock and sleep injected here (the tests' virtual time, which also stamps the fake
    Web API's calls) could not drive it, and tests would have to wait for real seconds."""

    def __init__(self, interval: float, clock: Monotonic, sleep: Sleep) -> None:
        self._interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = self._clock()
        slot = max(now, self._next.get(channel, now))
        self._next[channel] = slot + self._interval
        if len(self._next) > 10_000:
            self._next = {c: t for c, t in self._next.items() if t > now}
        if slot > now:
            await self._sleep(slot - now)


class SlackWeb:
    """The adapter's only door to the Web API (the bot token lives in `client`)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        clock: Monotonic,
        sleep: Sleep,
        max_attempts: int = 3,
        max_wait: float = MAX_INLINE_WAIT,
        pace_interval: float = 1.0,
        file_origins: frozenset[str] = SLACK_FILE_ORIGINS,
    ) -> None:
        self.client = client
        # Where the bot token may be sent to download a file (scheme://host[:port]).
        self._file_origins = file_origins
        # 429s, 5xx and dropped connections are retried inside the SDK, by its retry handlers,
        # so that each HTTP request is repeated alone (files_upload_v2 makes three).
        client.retry_handlers = retry_handlers(sleep, attempts=max_attempts, max_wait=max_wait)
        self._pacer = ChannelPacer(pace_interval, clock, sleep)
        self.suspended: str | None = None

    def suspend(self, reason: str) -> None:
        """Stop calling Slack (uninstalled, token revoked); stored data is kept."""
        if self.suspended is None:
            log.error(
                "slack access lost: no more Web API calls until restarted with a valid token",
                extra={"reason": reason},
            )
        self.suspended = reason

    async def _call(
        self,
        method: str,
        call: Callable[[], Awaitable[AsyncSlackResponse]],
        *,
        channel: str | None = None,
        paced: bool = False,
    ) -> AsyncSlackResponse:
        if self.suspended is not None:
            log.info("slack call skipped", extra={"method": method, "reason": self.suspended})
            raise DeliveryError(f"slack access lost ({self.suspended})")
        if paced and channel:
            await self._pacer.wait(channel)
        if method in DELIVERING:
            await about_to_send()
        try:
            return await call()
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 200)
            code = str(error.response.get("error") or f"http_{status}")
            if status == 429 or code == "ratelimited" or status >= 500:
                # The retry handlers gave up: attempts ran out, or the wait is too long to
                # sleep in line. The outbox sends again once Slack allows.
                wait = retry_after(error.response.headers)
                log.warning(
                    "slack call still limited, giving up for now",
                    extra={"method": method, "retry_after": wait, "channel": channel},
                )
                raise RetryLater(wait) from None
            raise self._mapped(method, code, channel) from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as error:
            log.warning(
                "slack unreachable", extra={"method": method, "error": type(error).__name__}
            )
            raise DeliveryError(f"{method}: {type(error).__name__}") from None

    def _mapped(self, method: str, code: str, channel: str | None) -> DeliveryError:
        context = {"method": method, "error": code, "channel": channel}
        if code in UNAVAILABLE:
            log.warning("slack conversation unavailable", extra=context)
            return ConversationUnavailable(f"{method}: {code}")
        if code in UNREACHABLE:
            log.warning("slack recipient unreachable", extra=context)
            return RecipientUnreachable(f"{method}: {code}")
        if code in TRIGGER_GONE:
            log.info("slack trigger no longer usable", extra=context)
            return DeliveryError(f"{method}: {code}")
        if code in REVOKED:
            self.suspend(code)
            return DeliveryError(f"{method}: {code}")
        log.error("slack call failed", extra=context)
        return DeliveryError(f"{method}: {code}")

    # ------------------------------------------------------------------ methods

    async def auth_test(self) -> AsyncSlackResponse:
        return await self._call("auth.test", lambda: self.client.auth_test())

    async def post_message(
        self, channel: str, text: str, blocks: Sequence[Mapping[str, Any]], thread_ts: str | None
    ) -> AsyncSlackResponse:
        return await self._call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=[dict(b) for b in blocks],
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            ),
            channel=channel,
            paced=True,
        )

    async def post_ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]],
        thread_ts: str | None,
    ) -> AsyncSlackResponse:
        return await self._call(
            "chat.postEphemeral",
            lambda: self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=text,
                blocks=[dict(b) for b in blocks],
                thread_ts=thread_ts,
            ),
            channel=channel,
        )

    async def update_message(
        self, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]]
    ) -> AsyncSlackResponse:
        return await self._call(
            "chat.update",
            lambda: self.client.chat_update(
                channel=channel, ts=ts, text=text, blocks=[dict(b) for b in blocks]
            ),
            channel=channel,
        )

    async def open_dm(self, user: str) -> AsyncSlackResponse:
        return await self._call(
            "conversations.open", lambda: self.client.conversations_open(users=user)
        )

    async def conversation_info(self, channel: str) -> AsyncSlackResponse:
        return await self._call(
            "conversations.info", lambda: self.client.conversations_info(channel=channel)
        )

    async def conversation_members(self, channel: str, cursor: str | None) -> AsyncSlackResponse:
        """One page of a conversation's members (up to 1,000 ids, and the next cursor)."""
        return await self._call(
            "conversations.members",
            lambda: self.client.conversations_members(
                channel=channel, cursor=cursor or None, limit=1000
            ),
        )

    async def user_info(self, user: str) -> AsyncSlackResponse:
        return await self._call(
            "users.info", lambda: self.client.users_info(user=user, include_locale=True)
        )

    async def publish_home(self, user: str, view: Mapping[str, Any]) -> AsyncSlackResponse:
        return await self._call(
            "views.publish", lambda: self.client.views_publish(user_id=user, view=dict(view))
        )

    async def open_view(self, trigger_id: str, view: Mapping[str, Any]) -> AsyncSlackResponse:
        return await self._call(
            "views.open",
            lambda: self.client.views_open(trigger_id=trigger_id, view=dict(view)),
        )

    async def upload_file(
        self,
        channel: str,
        content: bytes,
        filename: str,
        initial_comment: str | None,
        thread_ts: str | None,
    ) -> AsyncSlackResponse:
        """files.getUploadURLExternal, the upload itself, then files.completeUploadExternal."""
        return await self._call(
            "files.completeUploadExternal",
            lambda: self.client.files_upload_v2(
                channel=channel,
                content=content,
                filename=filename,
                title=filename,
                initial_comment=initial_comment,
                thread_ts=thread_ts,
            ),
            channel=channel,
        )

    async def file_info(self, file_id: str) -> AsyncSlackResponse:
        return await self._call("files.info", lambda: self.client.files_info(file=file_id))

    async def download_private(self, url: str, limit: int) -> bytes:
        """A file's bytes from its url_private, with the bot token, only from Slack's own file
        hosts (`file_origins`): each redirect is checked again, and nothing else ever gets
        the token. Raises `FileRefused`."""
        token = self.client.token
        if not token:
            raise FileRefused("no bot token")
        timeout = aiohttp.ClientTimeout(total=60, sock_connect=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(_MAX_REDIRECTS + 1):
                origin = origin_of(url)
                if origin is None or origin not in self._file_origins:
                    log.warning("file host not allowed", extra={"origin": str(origin)[:100]})
                    raise FileRefused("file host not allowed")
                try:
                    async with session.get(
                        url,
                        headers={"Authorization": f"Bearer {token}"},
                        allow_redirects=False,
                    ) as response:
                        if response.status in {301, 302, 303, 307, 308}:
                            url = urljoin(url, response.headers.get("Location", ""))
                            continue
                        return await _bounded_body(response, limit)
                except (aiohttp.ClientError, TimeoutError, OSError) as error:
                    log.warning("file download failed", extra={"error": type(error).__name__})
                    raise FileRefused(type(error).__name__) from None
        raise FileRefused("too many redirects")


async def _bounded_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    if response.status != 200:
        raise FileRefused(f"http {response.status}")
    # Without the token Slack answers its sign-in page with 200: that is not the file.
    if response.content_type == "text/html":
        raise FileRefused("sign-in page instead of the file")
    if response.content_length is not None and response.content_length > limit:
        raise FileRefused("too large", too_large=True)
    data = bytearray()
    async for chunk in response.content.iter_chunked(_DOWNLOAD_CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise FileRefused("too large", too_large=True)
    return bytes(data)


async def default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def post_to_response_url(
    url: str, body: Mapping[str, Any], sdk_logger: logging.Logger
) -> bool:
    """Answer an interaction through its response_url; False when Slack refused it."""
    try:
        webhook = AsyncWebhookClient(url, timeout=10, logger=sdk_logger)
        response = await webhook.send_dict(dict(body))
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as error:
        log.warning("response_url unreachable", extra={"error": type(error).__name__})
        return False
    if response.status_code != 200:
        # 404 "expired_url" or "used_url": the caller falls back to the Web API.
        log.info("response_url refused", extra={"status": response.status_code})
        return False
    return True
