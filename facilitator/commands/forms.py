"""Forms: a command's arguments as fields, for platforms that draw forms (Slack modals).

A form is declared once, next to the command it stands for (`CommandSpec.form`): its title,
fields and submit button are prompt keys, and `convert` turns the submitted fields into the
same typed arguments the command's handler takes, raising the same `ArgumentError`s. The core
offers the form when the command is run without arguments and runs the command's own handler,
after the command's own checks, when the form comes back. A command that runs only in a group
(`Needs.GROUP`: a poll, a webinar) offers no form in a direct chat.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from facilitator.localtime import COMMON_ZONES
from facilitator.markup import FieldKind, FieldOption, Form, FormField

# A submitted form reaches the core as a button press whose action is this prefix and the path
# of its command (`form:webinar.add`).
FORM_PREFIX = "form:"
MAX_SUBMISSION = 20_000


@dataclass(frozen=True)
class Choice:
    """An option of a choice or checkbox field; without a label key its value is shown."""

    value: str
    label_key: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label_key: str
    kind: FieldKind = FieldKind.SHORT_TEXT
    required: bool = True
    max_length: int | None = None
    choices: tuple[Choice, ...] = ()
    initial: str | None = None
    hint_key: str | None = None


@dataclass(frozen=True)
class FormInput:
    """What came back from a form, with what converting it needs: now and the zone of the
    community the form is for."""

    values: Mapping[str, object]
    now: datetime
    timezone: str
    context: str = ""

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return value.strip() if isinstance(value, str) else ""

    def lines(self, name: str) -> list[str]:
        """A list field: one item per line, blank lines left out."""
        return [line.strip() for line in self.text(name).splitlines() if line.strip()]

    def chosen(self, name: str) -> set[str]:
        value = self.values.get(name)
        if isinstance(value, str):
            return {value} if value else set()
        if isinstance(value, list | tuple):
            return {v for v in value if isinstance(v, str)}
        return set()


# What a form's `convert` gives: the arguments its command's handler takes.
A_co = TypeVar("A_co", covariant=True)


@dataclass(frozen=True)
class FormSpec(Generic[A_co]):
    title_key: str
    submit_key: str
    fields: tuple[FieldSpec, ...]
    convert: Callable[[FormInput], A_co]

    def prompt_keys(self) -> set[str]:
        keys = {self.title_key, self.submit_key}
        for field in self.fields:
            keys.add(field.label_key)
            keys.update(k for k in (field.hint_key,) if k)
            keys.update(c.label_key for c in field.choices if c.label_key)
        return keys


def form_id(path: str) -> str:
    return FORM_PREFIX + path


def render_form(
    t: Callable[[str], str],
    declared: FormSpec[object],
    path: str,
    conversation: str | None,
    timezone: str,
) -> Form:
    """The form of the command at `path`, in the language of `t`, to be submitted in
    `conversation`."""
    fields = []
    for field in declared.fields:
        initial: str | tuple[str, ...] | None = field.initial
        choices = field.choices
        if field.kind is FieldKind.TIMEZONE:
            initial = timezone
            zones = (timezone, *(z for z in COMMON_ZONES if z != timezone))
            choices = tuple(Choice(z) for z in zones)
        fields.append(
            FormField(
                name=field.name,
                kind=field.kind,
                label=t(field.label_key),
                required=field.required and field.kind is not FieldKind.CHECKBOX,
                max_length=field.max_length,
                initial=initial,
                options=tuple(
                    FieldOption(c.value, t(c.label_key) if c.label_key else c.value)
                    for c in choices
                ),
                hint=t(field.hint_key) if field.hint_key else None,
            )
        )
    return Form(
        form_id=form_id(path),
        title=t(declared.title_key),
        submit=t(declared.submit_key),
        fields=tuple(fields),
        conversation=conversation,
    )


def submitted_context(value: str) -> str:
    """The `context` the form was opened with (`Form.context`), or "" """
    if len(value) > MAX_SUBMISSION:
        return ""
    try:
        data = json.loads(value)
        metadata = json.loads(data.get("metadata") or "{}") if isinstance(data, dict) else {}
    except (ValueError, TypeError):
        return ""
    context = metadata.get("context") if isinstance(metadata, dict) else None
    return context if isinstance(context, str) else ""


def submitted_values(value: str) -> dict[str, object]:
    """The fields of a submission (`{"fields": {...}}` as JSON); empty when unreadable."""
    if len(value) > MAX_SUBMISSION:
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    fields = data.get("fields") if isinstance(data, dict) else None
    return dict(fields) if isinstance(fields, dict) else {}
