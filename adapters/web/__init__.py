"""The coordinators' web dashboard: a surface like the chat adapters, served by `serve`.

It only translates: pages read figures through the dashboard feature's service (never SQL
here), every text comes from `prompts/`, and sign-in, sessions and role checks are the
feature's. See docs/architecture.md, "The web dashboard"."""

from adapters.web.app import routes

__all__ = ["routes"]
