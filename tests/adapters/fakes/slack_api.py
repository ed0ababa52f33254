"""A fake Slack Web API server (aiohttp) that real slack_sdk clients talk to over HTTP."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import math
import mimetypes
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.adapters.fakes import payloads_dir
from tests.fake_credentials import SLACK_BOT_TOKEN

JSONDict = dict[str, Any]
Params = dict[str, Any]
Clock = Callable[[], float]
Handler = Callable[[Params, str], JSONDict]

DEFAULT_TOKEN = SLACK_BOT_TOKEN
DEFAULT_SCOPES = (
    "chat:write",
    "commands",
    "files:write",
    "im:write",
    "reactions:write",
    "users:read",
    "channels:read",
    "groups:read",
)
PACED_METHODS = ("chat.postMessage",)


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP request to `/api/<method>` as the fake saw it and answered it."""

    method: str
    params: Params  # query string + form or JSON body, merged; values exactly as sent
    headers: dict[str, str]  # lower-cased header names
    at: float  # the server clock when the request arrived
    token: str | None = None
    status: int = 200
    error: str | None = None  # the `error` of the answer, None when it was ok


@dataclass
class UploadedFile:
    """A file announced by files.getUploadURLExternal, its bytes and its completion."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None  # set by the POST to the upload URL
    upload_content_type: str | None = None
    title: str | None = None  # set by files.completeUploadExternal
    completed: bool = False
    channel_id: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    user: str | None = None  # who posted it (`post_file`); the bot for its own uploads
    url_private: str | None = None  # where files.info says it is; the fake's own by default


@dataclass(frozen=True)
class FileDownload:
    """A GET of a file's url_private, with the Authorization header it carried (if any)."""

    path: str
    authorization: str | None


@dataclass
class FakeUser:
    """A workspace member as users.info reports it."""

    user_id: str
    name: str
    locale: str = "en-US"
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    real_name: str | None = None
    tz: str = "America/Los_Angeles"
    email: str | None = None


@dataclass
class FakeChannel:
    """A conversation as conversations.info/members report it."""

    channel_id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_member: bool = True
    locale: str = "en-US"


@dataclass
class _Fault:
    method: str
    error: str
    status: int
    retry_after: int | None
    remaining: int
    channel: str | None


@dataclass
class _Pacing:
    per_second: int
    methods: frozenset[str]
    window: float = 1.0
    accepted: dict[str, deque[float]] = field(default_factory=dict)


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def dm_channel_id(user_id: str) -> str:
    """The DM channel id the fake's conversations.open answers for `user_id`."""
    return "D" + (user_id[1:] if user_id[:1] in ("U", "W") else user_id)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true"))


def _maybe_json(value: Any) -> Any:
    """Form/query values carry structures as JSON strings; JSON bodies carry them as-is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _required(params: Params, name: str, error: str | None = None) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise _ApiError(error or "invalid_arguments", response_metadata={"messages": [name]})
    return str(value)


class FakeSlackAPI:
    """A Slack Web API double on 127.0.0.1 that records calls and injects faults.

    Use `async with FakeSlackAPI() as api:` and point clients at `api.base_url`.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        team_id: str = "T0FAKE0001",
        team_name: str = "Facilitator Test Workspace",
        bot_user_id: str = "U0FAKEBOT1",
        bot_name: str = "facilitator",
        bot_id: str = "B0FAKEBOT1",
        app_id: str = "A0FAKEAPP1",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        default_locale: str = "en-US",
        clock: Clock = time.monotonic,
        payloads: Path | None = None,
    ) -> None:
        self.valid_tokens: set[str] = set(tokens)
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.bot_id = bot_id
        self.app_id = app_id
        self.scopes = ",".join(scopes)
        self.default_locale = default_locale
        self.clock = clock
        self.calls: list[RecordedCall] = []
        self.files: dict[str, UploadedFile] = {}
        self.downloads: list[FileDownload] = []
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.messages: dict[tuple[str, str], JSONDict] = {}
        self.views: dict[str, JSONDict] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self._payloads = payloads or payloads_dir() / "slack"
        self._templates: dict[str, JSONDict] = {}
        self._faults: list[_Fault] = []
        self._pacing: _Pacing | None = None
        self._static: dict[str, JSONDict] = {}
        self._ts_base = int(time.time())
        self._seq = 0
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
            "views.push": self._views_open,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening and release the port."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlackAPI is not started")
        return self._port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for `AsyncWebClient(base_url=...)`; it ends with a slash."""
        return f"{self.origin}/api/"

    # ------------------------------------------------------------------ configuration

    def set_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        locale: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        email: str | None = None,
    ) -> FakeUser:
        """Register (or replace) a user answered by users.info / users.lookupByEmail."""
        user = FakeUser(
            user_id=user_id,
            name=name or user_id.lower(),
            locale=locale or self.default_locale,
            is_admin=is_admin,
            is_owner=is_owner,
            is_bot=is_bot,
            deleted=deleted,
            real_name=real_name,
            tz=tz,
            email=email,
        )
        self.users[user_id] = user
        return user

    def set_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        members: Iterable[str] = (),
        is_private: bool = False,
        is_member: bool = True,
        locale: str | None = None,
    ) -> FakeChannel:
        """Register (or replace) a channel answered by conversations.info / members."""
        channel = FakeChannel(
            channel_id=channel_id,
            name=name or channel_id.lower(),
            members=list(members),
            is_private=is_private,
            is_member=is_member,
            locale=locale or self.default_locale,
        )
        self.channels[channel_id] = channel
        return channel

    def respond_with(self, method: str, body: Mapping[str, Any]) -> None:
        """Answer `method` (known or not) with a fixed JSON body from now on."""
        self._static[method] = dict(body)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int | None = 1,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `channel`, if given) with `error`.

        `status` defaults to 429 for `ratelimited` (with a `Retry-After: retry_after` header)
        and to 200 for every other error, as Slack does.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        self._faults.append(_Fault(method, error, status, retry_after, times, channel))

    def enforce_limits(
        self, per_channel_per_second: int = 1, methods: Iterable[str] = PACED_METHODS
    ) -> None:
        """Answer 429 to calls of `methods` beyond the per-channel rate (by the clock)."""
        self._pacing = _Pacing(per_channel_per_second, frozenset(methods))

    def reset(self) -> None:
        """Forget recorded calls, pending faults and pacing history."""
        self.calls.clear()
        self._faults.clear()
        if self._pacing is not None:
            self._pacing.accepted.clear()

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for_calls(
        self,
        method: str,
        n: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the fake's documented contract
    ) -> list[RecordedCall]:
        """Wait until `method` was called at least `n` times; TimeoutError otherwise."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    changed = self._changed
                    found = self.calls_to(method)
                    if len(found) >= n:
                        return found
                    await changed.wait()
        except TimeoutError:
            seen = [call.method for call in self.calls]
            raise TimeoutError(
                f"expected {n} call(s) to {method} within {timeout}s, "
                f"got {len(self.calls_to(method))}; calls seen: {seen}"
            ) from None

    def post_file(
        self,
        user: str,
        filename: str,
        data: bytes,
        *,
        channel: str | None = None,
        url_private: str | None = None,
    ) -> JSONDict:
        """A file a member posted; its file object as a message event or files.info shows it.
        `url_private` makes files.info name another place for its bytes."""
        file_id = self._next_id("F")
        self.files[file_id] = UploadedFile(
            file_id=file_id,
            filename=filename,
            length=len(data),
            data=data,
            title=filename,
            completed=True,
            channel_id=channel,
            user=user,
            url_private=url_private,
        )
        return self._file_object(self.files[file_id])

    def uploaded_bytes(self, file_id: str) -> bytes:
        data = self.files[file_id].data
        if data is None:
            raise KeyError(f"{file_id} was announced but never uploaded")
        return data

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        at = self.clock()
        method = request.match_info["method"]
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            params = await self._read_params(request)
        except _ApiError as exc:
            return self._answer(
                method, {}, headers, at, None, 200, {"ok": False, "error": exc.error}
            )
        token = self._token_of(headers, params)
        status, body, extra_headers = self._dispatch(method, params, token)
        return self._answer(method, params, headers, at, token, status, body, extra_headers)

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query.items())
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _ApiError("invalid_json") from None
            if not isinstance(body, dict):
                raise _ApiError("invalid_json")
            params.update(body)
        else:
            form = await request.post()
            for name, value in form.items():
                params[name] = value.file.read() if isinstance(value, web.FileField) else value
        return params

    @staticmethod
    def _token_of(headers: Mapping[str, str], params: Params) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = params.get("token")
        return str(token) if token else None

    def _dispatch(
        self, method: str, params: Params, token: str | None
    ) -> tuple[int, JSONDict, dict[str, str]]:
        handler = self._handlers.get(method)
        if handler is None and method not in self._static:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        fault = self._take_fault(method, params)
        if fault is not None:
            fault_headers = {}
            if fault.status == 429 and fault.retry_after is not None:
                fault_headers["Retry-After"] = str(fault.retry_after)
            return fault.status, {"ok": False, "error": fault.error}, fault_headers
        retry_after = self._pace(method, params)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        if method in self._static:
            return 200, copy.deepcopy(self._static[method]), {}
        assert handler is not None
        try:
            return 200, handler(params, token), {}
        except _ApiError as exc:
            return 200, {"ok": False, "error": exc.error, **exc.extra}, {}

    def _answer(
        self,
        method: str,
        params: Params,
        headers: dict[str, str],
        at: float,
        token: str | None,
        status: int,
        body: JSONDict,
        extra_headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        error = None if body.get("ok") else str(body.get("error"))
        self.calls.append(RecordedCall(method, params, headers, at, token, status, error))
        self._notify()
        response_headers = {"X-OAuth-Scopes": self.scopes, **(extra_headers or {})}
        return web.json_response(body, status=status, headers=response_headers)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _take_fault(self, method: str, params: Params) -> _Fault | None:
        channel = params.get("channel", params.get("channel_id"))
        for fault in self._faults:
            if fault.method == method and fault.channel in (None, channel):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _pace(self, method: str, params: Params) -> int | None:
        """Return a Retry-After in seconds when the call exceeds the pacing, else None."""
        pacing = self._pacing
        if pacing is None or method not in pacing.methods:
            return None
        channel = str(params.get("channel", ""))
        now = self.clock()
        accepted = pacing.accepted.setdefault(channel, deque())
        while accepted and now - accepted[0] >= pacing.window:
            accepted.popleft()
        if len(accepted) >= pacing.per_second:
            return max(1, math.ceil(pacing.window - (now - accepted[0])))
        accepted.append(now)
        return None

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = self.files.get(file_id)
        if upload is None:
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = form.get("file") or form.get("filename")
            if isinstance(part, web.FileField):
                data = part.file.read()
            else:
                data = str(part or "").encode()
        else:
            data = await request.read()
        upload.data = data
        upload.upload_content_type = request.content_type
        self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_download(self, request: web.Request) -> web.Response:
        """A file's bytes, for the bot token only, as files.slack.com serves url_private."""
        authorization = request.headers.get("Authorization")
        self.downloads.append(FileDownload(request.path, authorization))
        upload = self.files.get(request.match_info["file_id"])
        token = (authorization or "").removeprefix("Bearer ").strip()
        if upload is None or upload.data is None:
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        if token not in self.valid_tokens:
            # Slack answers a login page, not an error, to a request without the token.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        return web.Response(body=upload.data, content_type=mimetype)

    # ------------------------------------------------------------------ helpers

    def _template(self, name: str) -> JSONDict:
        if name not in self._templates:
            path = self._payloads / f"slack_api_{name}_ok.json"
            try:
                self._templates[name] = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"recorded Slack payload {path} is missing; set FACILITATOR_PAYLOADS_DIR"
                ) from None
        return copy.deepcopy(self._templates[name])

    def _next_ts(self) -> str:
        self._seq += 1
        return f"{self._ts_base + self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}0FAKE{self._seq:05d}"

    def _user(self, user_id: str) -> FakeUser:
        return self.users.get(user_id) or self.set_user(user_id)

    def _channel(self, channel_id: str) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            channel = self.set_channel(channel_id, members=[self.bot_user_id, *self.users])
        return channel

    def _bot_message(self, params: Params, ts: str) -> JSONDict:
        message: JSONDict = self._template("chat.postMessage")["message"]
        for key in ("attachments", "subtype", "username"):
            message.pop(key, None)
        message.update(
            {
                "type": "message",
                "text": params.get("text", ""),
                "ts": ts,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "app_id": self.app_id,
                "team": self.team_id,
            }
        )
        for key in ("blocks", "attachments", "metadata"):
            if key in params:
                message[key] = _maybe_json(params[key])
        for key in ("thread_ts", "username"):
            if key in params:
                message[key] = str(params[key])
        return message

    # ------------------------------------------------------------------ methods

    def _auth_test(self, params: Params, token: str) -> JSONDict:
        body = self._template("auth.test")
        is_bot = token.startswith("xoxb-")
        body.update(
            {
                "url": f"https://{self.team_name.lower().replace(' ', '-')}.slack.com/",
                "team": self.team_name,
                "user": self.bot_name,
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "is_enterprise_install": False,
            }
        )
        if is_bot:
            body["bot_id"] = self.bot_id
        return body

    def _chat_post_message(self, params: Params, token: str) -> JSONDict:
        channel = _required(params, "channel", "channel_not_found")
        if not any(params.get(key) for key in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        ts = self._next_ts()
        message = self._bot_message(params, ts)
        self.messages[(channel, ts)] = message
        body = self._template("chat.postMessage")
        body.update({"channel": channel, "ts": ts, "message": message})
        return body

    def _chat_post_ephemeral(self, params: Params, token: str) -> JSONDict:
        _required(params, "channel", "channel_not_found")
        _required(params, "user", "user_not_in_channel")
        if not any(params.get(key) for key in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        body = self._template("chat.postEphemeral")
        body["message_ts"] = self._next_ts()
        return body

    def _chat_update(self, params: Params, token: str) -> JSONDict:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "message_not_found")
        message = self.messages.get((channel, ts)) or self._bot_message({}, ts)
        message["text"] = params.get("text", message.get("text", ""))
        for key in ("blocks", "attachments"):
            if key in params:
                message[key] = _maybe_json(params[key])
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self.messages[(channel, ts)] = message
        body = self._template("chat.update")
        body.update(
            {
                "channel": channel,
                "ts": ts,
                "text": message["text"],
                "message": {"text": message["text"], "user": self.bot_user_id},
            }
        )
        return body

    def _chat_delete(self, params: Params, token: str) -> JSONDict:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "message_not_found")
        self.messages.pop((channel, ts), None)
        return {"ok": True, "channel": channel, "ts": ts}

    def _conversations_open(self, params: Params, token: str) -> JSONDict:
        if params.get("channel"):
            return {"ok": True, "channel": {"id": str(params["channel"])}}
        users_param = params.get("users")
        if not users_param:
            raise _ApiError("users_list_not_supplied")
        users = [u.strip() for u in str(users_param).split(",") if u.strip()]
        if len(users) == 1:
            channel_id = dm_channel_id(users[0])
            channel: JSONDict = {"id": channel_id}
            if _truthy(params.get("return_im")):
                channel.update({"created": self._ts_base, "is_im": True, "user": users[0]})
        else:
            digest = base64.b32encode("-".join(sorted(users)).encode()).decode()
            channel = {"id": "G" + digest[:10]}
        already_open = channel["id"] in self.channels
        self.channels.setdefault(
            channel["id"],
            FakeChannel(channel["id"], channel["id"].lower(), [*users, self.bot_user_id]),
        )
        return {
            "ok": True,
            "no_op": already_open,
            "already_open": already_open,
            "channel": channel,
        }

    def _conversations_info(self, params: Params, token: str) -> JSONDict:
        channel_id = _required(params, "channel", "channel_not_found")
        channel = self._channel(channel_id)
        if channel_id.startswith("D"):
            other = next((m for m in channel.members if m != self.bot_user_id), "")
            im: JSONDict = {
                "id": channel_id,
                "created": self._ts_base,
                "is_im": True,
                "is_org_shared": False,
                "user": other,
                "is_user_deleted": False,
                "priority": 0,
            }
            if _truthy(params.get("include_locale")):
                im["locale"] = channel.locale
            return {"ok": True, "channel": im}
        body = self._template("conversations.info")
        info = body["channel"]
        info.update(
            {
                "id": channel_id,
                "name": channel.name,
                "name_normalized": channel.name,
                "is_private": channel.is_private,
                "is_channel": not channel.is_private,
                "is_group": channel.is_private,
                "is_member": channel.is_member,
                "is_general": False,
                "creator": self.bot_user_id,
                "previous_names": [],
            }
        )
        if _truthy(params.get("include_locale")):
            info["locale"] = channel.locale
        else:
            info.pop("locale", None)
        if _truthy(params.get("include_num_members")):
            info["num_members"] = len(channel.members)
        return body

    def _conversations_members(self, params: Params, token: str) -> JSONDict:
        channel = self._channel(_required(params, "channel", "channel_not_found"))
        limit = int(params.get("limit") or 100)
        cursor = str(params.get("cursor") or "")
        try:
            start = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        except (ValueError, IndexError):
            raise _ApiError("invalid_cursor") from None
        page = channel.members[start : start + limit]
        end = start + len(page)
        next_cursor = ""
        if end < len(channel.members):
            next_cursor = base64.b64encode(f"offset:{end}".encode()).decode()
        body = self._template("conversations.members")
        body["members"] = page
        body["response_metadata"] = {"next_cursor": next_cursor}
        return body

    def _user_body(self, user: FakeUser, include_locale: bool) -> JSONDict:
        body = self._template("users.info")
        info = body["user"]
        real_name = user.real_name or user.name.title()
        info.update(
            {
                "id": user.user_id,
                "team_id": self.team_id,
                "name": user.name,
                "real_name": real_name,
                "deleted": user.deleted,
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_bot": user.is_bot,
                "tz": user.tz,
            }
        )
        info["profile"].update(
            {
                "display_name": user.name,
                "display_name_normalized": user.name,
                "real_name": real_name,
                "real_name_normalized": real_name,
                "email": user.email or f"{user.name}@example.com",
                "team": self.team_id,
            }
        )
        if include_locale:
            info["locale"] = user.locale
        return body

    def _users_info(self, params: Params, token: str) -> JSONDict:
        user_id = _required(params, "user", "user_not_found")
        return self._user_body(self._user(user_id), _truthy(params.get("include_locale")))

    def _users_lookup_by_email(self, params: Params, token: str) -> JSONDict:
        email = _required(params, "email", "users_not_found")
        for user in self.users.values():
            if (user.email or f"{user.name}@example.com") == email:
                return self._user_body(user, include_locale=False)
        raise _ApiError("users_not_found")

    def _view_body(self, view: Any, view_id: str, **extra: Any) -> JSONDict:
        view = _maybe_json(view)
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["view"]})
        body = self._template("views.open")
        answer = body["view"]
        answer.update(
            {
                "id": view_id,
                "root_view_id": view_id,
                "team_id": self.team_id,
                "app_id": self.app_id,
                "bot_id": self.bot_id,
                "hash": f"{self._ts_base}.{self._seq:08d}",
                "state": {"values": {}},
                "blocks": view.get("blocks", []),
            }
        )
        for key in ("submit", "close"):
            answer.pop(key, None)
        for key in (
            "type",
            "title",
            "submit",
            "close",
            "callback_id",
            "private_metadata",
            "external_id",
            "clear_on_close",
            "notify_on_close",
        ):
            if key in view:
                answer[key] = view[key]
        answer.update(extra)
        self.views[view_id] = answer
        return body

    def _views_open(self, params: Params, token: str) -> JSONDict:
        _required(params, "trigger_id", "invalid_trigger_id")
        return self._view_body(_required_any(params, "view"), self._next_id("V"))

    def _views_publish(self, params: Params, token: str) -> JSONDict:
        user_id = _required(params, "user_id", "user_not_found")
        body = self._view_body(_required_any(params, "view"), self._next_id("V"))
        body["view"]["user_id"] = user_id
        return body

    def _views_update(self, params: Params, token: str) -> JSONDict:
        view_id = params.get("view_id")
        if not view_id:
            external_id = params.get("external_id")
            if not external_id:
                raise _ApiError("not_found")
            view_id = next(
                (vid for vid, v in self.views.items() if v.get("external_id") == external_id),
                self._next_id("V"),
            )
        return self._view_body(_required_any(params, "view"), str(view_id))

    def _reactions_add(self, params: Params, token: str) -> JSONDict:
        channel = _required(params, "channel", "channel_not_found")
        timestamp = _required(params, "timestamp", "message_not_found")
        name = _required(params, "name", "invalid_name")
        key = (channel, timestamp, name)
        if key in self.reactions:
            raise _ApiError("already_reacted")
        self.reactions.add(key)
        return self._template("reactions.add")

    def _files_get_upload_url_external(self, params: Params, token: str) -> JSONDict:
        filename = _required(params, "filename")
        try:
            length = int(_required(params, "length"))
        except ValueError:
            raise _ApiError("invalid_arguments") from None
        file_id = self._next_id("F")
        self.files[file_id] = UploadedFile(
            file_id=file_id,
            filename=filename,
            length=length,
            alt_txt=params.get("alt_txt"),
            snippet_type=params.get("snippet_type"),
        )
        return {"ok": True, "upload_url": f"{self.origin}/upload/v1/{file_id}", "file_id": file_id}

    def _file_object(self, upload: UploadedFile) -> JSONDict:
        mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
        shared = [c for c in [upload.channel_id, *upload.channels] if c]
        return {
            "id": upload.file_id,
            "created": self._ts_base,
            "timestamp": self._ts_base,
            "name": upload.filename,
            "title": upload.title or upload.filename,
            "mimetype": mimetype,
            "filetype": upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "",
            "user": upload.user or self.bot_user_id,
            "user_team": self.team_id,
            "size": len(upload.data or b""),
            "channels": [c for c in shared if c.startswith("C")],
            "groups": [c for c in shared if c.startswith("G")],
            "ims": [c for c in shared if c.startswith("D")],
            "permalink": f"https://fake.slack.com/files/{self.bot_user_id}/{upload.file_id}",
            "url_private": upload.url_private
            or f"{self.origin}/files-pri/{upload.file_id}/{upload.filename}",
        }

    def _files_complete_upload_external(self, params: Params, token: str) -> JSONDict:
        files = _maybe_json(_required_any(params, "files"))
        if not isinstance(files, list) or not files:
            raise _ApiError("invalid_arguments", response_metadata={"messages": ["files"]})
        uploads: list[UploadedFile] = []
        for entry in files:
            upload = self.files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if upload is None or upload.data is None:
                raise _ApiError("file_not_found")
            upload.title = entry.get("title") or upload.filename
            uploads.append(upload)
        channels = [c for c in str(params.get("channels") or "").split(",") if c]
        for upload in uploads:
            upload.completed = True
            upload.channel_id = params.get("channel_id")
            upload.channels = channels
            upload.initial_comment = params.get("initial_comment")
            upload.thread_ts = params.get("thread_ts")
        self._notify()
        return {"ok": True, "files": [self._file_object(upload) for upload in uploads]}

    def _files_info(self, params: Params, token: str) -> JSONDict:
        upload = self.files.get(_required(params, "file", "file_not_found"))
        if upload is None or not upload.completed:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": self._file_object(upload), "comments": []}


def _required_any(params: Params, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise _ApiError("invalid_arguments", response_metadata={"messages": [name]})
    return value
