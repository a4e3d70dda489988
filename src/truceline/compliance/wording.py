"""A finding's summary as a message and its named arguments, so a report words it in its
own language (issue #11).

A rule words its summary as a :class:`Wording`: a msgid marked with ``N_`` (extracted into
the catalogues) and named arguments. The English summary is ``render(wording)``; the
wording itself goes into the finding's evidence (``{"summary": {"msg", "args"}}``) and a
report renders it with its language's ``gettext``. An argument is plain (an id, a number,
a name: printed as it is) or one of:

- ``{"msg": ..., "args": {...}}``: a part of the sentence, itself a wording;
- ``{"word": code}``: a vocabulary word (a kind, a status), translated;
- ``{"weapon": code}``: a weapon class, named and translated;
- ``{"each": [argument, ...], "sep": "; "}``: arguments one after another;
- ``{"kinds": [[kind, n], ...]}``: counts of kinds, ``3 explosion, 1 burst``;
- ``{"weapons": [[weapon class, n], ...]}``: counts of weapon classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["N_", "Wording", "counts", "part", "render"]


def N_(text: str) -> str:  # noqa: N802 - gettext's marker name
    return text


def _same(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Wording:
    msg: str
    args: dict[str, Any] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {"msg": self.msg, "args": self.args}

    def english(self) -> str:
        return render(self.doc())


def part(msg: str, **args: Any) -> dict[str, Any]:
    """A part of a sentence, as an argument of another wording."""
    return {"msg": msg, "args": args}


def counts(what: str, pairs: Iterable[tuple[str, int]]) -> dict[str, Any]:
    """An argument counting kinds (``what="kinds"``) or weapon classes (``"weapons"``)."""
    return {what: [[str(k), int(n)] for k, n in pairs]}


def render(
    form: Mapping[str, Any],
    gettext: Callable[[str], str] = _same,
    weapon: Callable[[str], str] = _same,
) -> str:
    """``form`` (``{"msg", "args"}``) in words: ``gettext(msg) % args``, the arguments
    worded first. ``weapon`` names a weapon class (before ``gettext``)."""
    args = {k: _arg(v, gettext, weapon) for k, v in (form.get("args") or {}).items()}
    return gettext(str(form["msg"])) % args


def _arg(v: Any, gettext: Callable[[str], str], weapon: Callable[[str], str]) -> Any:
    if not isinstance(v, Mapping):
        return v
    if "msg" in v:
        return render(v, gettext, weapon)
    if "word" in v:
        return gettext(str(v["word"]))
    if "weapon" in v:
        return gettext(weapon(str(v["weapon"])))
    if "each" in v:
        return str(v.get("sep", ", ")).join(str(_arg(a, gettext, weapon)) for a in v["each"])
    if "kinds" in v:
        return ", ".join(f"{n} {gettext(str(k))}" for k, n in v["kinds"])
    if "weapons" in v:
        return ", ".join(f"{n} {gettext(weapon(str(w)))}" for w, n in v["weapons"])
    raise ValueError(f"summary argument {v!r}: not a wording, word, weapon, list or counts")
