"""Language: the record's own ISO 639-1 code when it has one, else detected from the text.

Detection uses py3langid, whose model ships inside the installed package: nothing is downloaded.
"""

from __future__ import annotations

import re

import py3langid

from builder.records import Draft, Reject
from builder.steps import Step

DETECT_CHARS = (
    1500  # enough for a stable guess; longer texts only cost time (it is the costliest step)
)
_CODE = re.compile(r"^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")


def declared_language(value: str | None) -> str | None:
    """'en', 'EN', 'en-US', 'pt_BR' -> the ISO 639-1 code; anything else -> None (detect instead)."""
    match = _CODE.match(value.strip()) if value else None
    return match.group(1).lower() if match else None


def detect_language(text: str) -> str:
    return py3langid.classify(text[:DETECT_CHARS])[0]


class DetectLanguage(Step):
    def process(self, draft: Draft) -> Draft | Reject:
        draft.language = declared_language(draft.language) or detect_language(draft.text)
        return draft
