"""States named by observations and agreements: ISO 3166-1 alpha-3 codes only."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["STATE_FORM", "is_state_code"]

#: the allowed form, as error messages state it
STATE_FORM = "an ISO 3166-1 alpha-3 state code (e.g. USA, FRA)"
_ISO_STATE = re.compile(r"^[A-Z]{3}$")


def is_state_code(v: object) -> bool:
    """Whether ``v`` is the alpha-3 code of an existing state, upper case (``USA``)."""
    return isinstance(v, str) and bool(_ISO_STATE.match(v)) and _exists(v)


@lru_cache(maxsize=512)
def _exists(code: str) -> bool:
    import pycountry  # loaded when a state is named, not at start-up

    return pycountry.countries.get(alpha_3=code) is not None
