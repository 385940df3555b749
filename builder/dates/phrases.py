"""The words in front of a date on a page that say whose date it is, by language: the
publication's ("Notizia del 14 Gennaio 2020"), or an update's ("Updated June 13, 2019",
"Aktualisiert: 30.12.2016"), which is never taken for the publication's. Data, as the month
names in `months` are: a language is a line here."""

from __future__ import annotations

import re

PUBLISHED_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("published on", "published", "posted on"),
    "it": ("pubblicato il", "pubblicato", "notizia del"),
    "de": ("veröffentlicht am", "veröffentlicht", "erschienen am"),
    "fr": ("publié le",),
    "es": ("publicado el",),
    "pt": ("publicado em",),
    "nl": ("gepubliceerd op",),
    "pl": ("opublikowano",),
    "cs": ("publikováno",),
}
UPDATED_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("updated", "last updated", "modified", "last modified", "edited", "revised"),
    "it": ("aggiornato", "aggiornamento", "ultimo aggiornamento", "modificato"),
    "de": ("aktualisiert", "zuletzt aktualisiert", "aktualisierung", "geändert"),
    "fr": ("mis à jour", "mise à jour", "modifié", "actualisé"),
    "es": ("actualizado", "actualización", "modificado"),
    "pt": ("atualizado", "atualização", "modificado"),
    "nl": ("bijgewerkt", "gewijzigd"),
    "pl": ("aktualizacja", "zaktualizowano"),
    "cs": ("aktualizováno", "upraveno"),
    "ru": ("обновлено", "изменено"),
}
WORDS_BETWEEN = 3  # "Updated Tuesday, 13 June 2019": words between an update word and its date


def _alternation(words: dict[str, tuple[str, ...]]) -> str:
    every = {word for by_language in words.values() for word in by_language}
    return "|".join(re.escape(w) for w in sorted(every, key=len, reverse=True))


PUBLISHED = re.compile(rf"\b(?:{_alternation(PUBLISHED_WORDS)})\b", re.IGNORECASE)
# Searched in the text just before a date: an update word, at most a few words, then the date.
UPDATED = re.compile(
    rf"\b(?:{_alternation(UPDATED_WORDS)})\b(?:\W+\w+){{0,{WORDS_BETWEEN}}}\W*$", re.IGNORECASE
)
