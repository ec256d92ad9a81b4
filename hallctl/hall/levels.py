"""The five 好差评 levels (national standard wording)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Level:
    value: int
    name: str
    label_zh: str

    @property
    def bad(self) -> bool:
        return self.value <= 2


LEVELS: tuple[Level, ...] = (
    Level(5, "very_satisfied", "非常满意"),
    Level(4, "satisfied", "满意"),
    Level(3, "basic", "基本满意"),
    Level(2, "dissatisfied", "不满意"),
    Level(1, "very_dissatisfied", "非常不满意"),
)
_BY_KEY: dict[str | int, Level] = {}
for _l in LEVELS:
    _BY_KEY[_l.value] = _l
    _BY_KEY[str(_l.value)] = _l
    _BY_KEY[_l.name] = _l
    _BY_KEY[_l.label_zh] = _l


def parse_level(value: str | int) -> Level:
    """Accept 1..5, the English name or the Chinese label."""
    # True == 1 and 1.0 == 1 as dict keys: without the type check they would be level 1.
    exact = isinstance(value, str | int) and not isinstance(value, bool)
    try:
        return _BY_KEY[value if exact else ""]
    except (KeyError, TypeError):
        names = ", ".join(f"{lv.value} {lv.name} {lv.label_zh}" for lv in LEVELS)
        raise ValueError(f"level must be one of {names}; got {value!r}") from None
