"""Bedrock session attributes: small pointers into the session store, never the data itself.

Session attributes travel with every turn of the conversation, in both directions, and may enter
the model's prompt: a report there would cost tokens on every turn and could exceed the event size.
So they carry ids and counts only; the answer layer loads what they point to from the store.
"""

from __future__ import annotations

from typing import Final

from agent_config.utils.error_handling import InvalidInput

LAST_ASSESSMENT_ATTRIBUTE: Final = "last_assessment_id"
ASSESSMENT_COUNT_ATTRIBUTE: Final = "assessments_in_session"
MAX_ATTRIBUTE_CHARS: Final = 256
"""A pointer longer than this is a bug (an id is under 130 characters)."""


def pointer_attributes(last_assessment_id: str | None, assessment_count: int = 0) -> dict[str, str]:
    """The session attributes to set after a turn (string to string, as Bedrock requires)."""
    attributes: dict[str, str] = {}
    if last_assessment_id:
        attributes[LAST_ASSESSMENT_ATTRIBUTE] = last_assessment_id
    if assessment_count:
        attributes[ASSESSMENT_COUNT_ATTRIBUTE] = str(assessment_count)
    for name, value in attributes.items():
        if len(value) > MAX_ATTRIBUTE_CHARS:
            raise InvalidInput(f"session attribute {name} is {len(value)} characters; pointers only")
    return attributes


def last_assessment_from_attributes(attributes: dict[str, str]) -> str | None:
    """The assessment id the previous turn left in the session attributes, if any.

    Lets a turn name the last assessment even when the store is unavailable (it cannot load it,
    but it can say which one it would have compared with).
    """
    value = attributes.get(LAST_ASSESSMENT_ATTRIBUTE, "").strip()
    return value or None
