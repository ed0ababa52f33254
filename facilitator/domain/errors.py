"""Errors the core raises and the few platform failures adapters map onto."""

from __future__ import annotations


class FacilitatorError(Exception):
    """Base of every error the core defines."""


class UndecodablePayload(FacilitatorError):
    """An adapter could not turn a stored raw payload into core events."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StorageUnavailable(FacilitatorError):
    """The database cannot be reached for now (down, restarting, out of connections).

    Raised by a unit of work in place of the driver's error, so that callers can answer
    "try again later" without knowing the driver; `cause` names the driver's error type."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"database unavailable ({cause})")
        self.cause = cause


class DeliveryError(FacilitatorError):
    """Sending failed; adapters raise one of the subclasses below for known causes."""


class RetryLater(DeliveryError):
    """The platform asked us to slow down (HTTP 429 and friends)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        self.retry_after = retry_after


class RecipientUnreachable(DeliveryError):
    """The person blocked the bot or never started a conversation with it."""


class ConversationUnavailable(DeliveryError):
    """The bot is not in the conversation, or it no longer exists."""


class ConversationMoved(DeliveryError):
    """The conversation has a new id (a Telegram group became a supergroup)."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class MembershipUnknown(FacilitatorError):
    """The platform could not say whether someone is in a conversation (unreachable, refused,
    or an answer that does not parse)."""


class FileUnavailable(FacilitatorError):
    """A file posted in a chat could not be fetched (gone, refused, or hosted where the bot
    will not send its credentials)."""


class FileTooLarge(FileUnavailable):
    """A file is over the size the bot accepts; `size` is in bytes, None when only the
    download told."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"file of {size} bytes over the limit of {limit}")
        self.size = size
        self.limit = limit
