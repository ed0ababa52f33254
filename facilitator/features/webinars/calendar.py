"""An .ics calendar file for a webinar (icalendar), updated on reschedule, cancelled on cancel."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from facilitator.features.webinars.domain import Webinar, WebinarStatus
from facilitator.markup import Attachment


def ics(webinar: Webinar, now: datetime, description: str = "") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Facilitator//Webinars//EN")
    calendar.add("version", "2.0")
    cancelled = webinar.status is WebinarStatus.CANCELLED
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    # The same UID with a higher SEQUENCE replaces the entry in the member's calendar.
    event.add("uid", f"webinar-{webinar.id}@facilitator")
    event.add("sequence", webinar.version + (1 if cancelled else 0))
    event.add("dtstamp", now)
    event.add("dtstart", webinar.starts_at)
    event.add("dtend", webinar.ends_at)
    event.add("summary", webinar.title)
    if description:
        event.add("description", description)
    if webinar.link:
        event.add("url", webinar.link)
        event.add("location", webinar.link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    content: bytes = calendar.to_ical()
    return content


def ics_attachment(webinar: Webinar, now: datetime, description: str = "") -> Attachment:
    return Attachment(
        filename=f"webinar-{webinar.id}.ics",
        content=ics(webinar, now, description),
        mime_type="text/calendar",
    )
