"""SLA arithmetic of the helpdesk: business calendars, business time and pausable SLA clocks.

Pure Python (zoneinfo + holidays), no Django. Inputs are aware datetimes; every instant returned is aware UTC.

Conventions, because this is where helpdesks get it wrong:

* Resolution is one second: input instants are truncated to the whole second, so business time is an exact
  integer, additive (bs(a, c) == bs(a, b) + bs(b, c)) and add_business_seconds is its exact inverse.
* Periods are half-open, [start, end): a 09:00-17:00 office is open at 16:59:59 and closed at 17:00.
* Wall time -> instant: a local time on a date means the first instant at which the local clock shows that time
  or later. For an ambiguous time (autumn fall-back) that is its first occurrence (fold=0), for starts and ends
  alike; for a time that does not exist (spring-forward gap) it is the first instant after the gap. Hence
  01:00-04:00 on the Sunday of a change in Berlin lasts 2 h in spring and 4 h in autumn.
* Midnight: an interval end of time(0, 0) means 24:00, the midnight that ends the day (datetime.time cannot say
  24:00); WeeklyHours.parse accepts "24:00" for it. A start of time(0, 0) is 00:00, as usual.
* A target of 0 seconds is due at the start instant ("now"), even when the calendar is closed then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Searching forward for a due date stops here: a calendar open this rarely is a configuration error.
SEARCH_LIMIT = timedelta(days=3 * 366)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_MIDNIGHT = time(0)
_SECOND = timedelta(seconds=1)
_SPAN = re.compile(r"^\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*-\s*(\d{1,2}:\d{2}(?::\d{2})?)\s*$")

type Span = tuple[time, time]
type Period = tuple[datetime, datetime]


def _utc(value: datetime, name: str) -> datetime:
    """`value` as UTC, truncated to the second (the clock's resolution); naive datetimes are refused."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC).replace(microsecond=0)


def _seconds(value: time, *, end: bool) -> int:
    if end and value == _MIDNIGHT:
        return 86400  # the midnight that ends the day
    return value.hour * 3600 + value.minute * 60 + value.second


def _parse_time(text: str, *, end: bool) -> time:
    numbers = [int(part) for part in text.split(":")]
    if end and numbers[0] == 24 and not any(numbers[1:]):
        return _MIDNIGHT
    return time(*numbers)  # raises ValueError("hour must be in 0..23") and the like


def _label(value: time, *, end: bool) -> str:
    return "24:00" if end and value == _MIDNIGHT else value.isoformat()[: 8 if value.second else 5]


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours in local wall time: for each weekday (0=Monday..6=Sunday) sorted, non-overlapping
    (start, end) spans; several spans make a split shift. An end of time(0, 0) means 24:00."""

    days: tuple[tuple[Span, ...], ...]

    def __post_init__(self) -> None:
        days = tuple(tuple((start, end) for start, end in day) for day in self.days)  # lists become hashable tuples
        if len(days) != 7:
            raise ValueError(f"WeeklyHours needs 7 weekdays (Monday..Sunday), got {len(days)}")
        for name, spans in zip(DAY_NAMES, days, strict=True):
            previous_end = 0
            for start, end in spans:
                if not all(isinstance(t, time) and t.tzinfo is None and not t.microsecond for t in (start, end)):
                    raise ValueError(f"{name.title()}: {start!r}-{end!r} must be naive times in whole seconds")
                label = f"{name.title()} {_label(start, end=False)}-{_label(end, end=True)}"
                if _seconds(start, end=False) >= _seconds(end, end=True):
                    raise ValueError(f"{label}: the start must be before the end (use 24:00 for midnight)")
                if _seconds(start, end=False) < previous_end:
                    raise ValueError(f"{label}: intervals must be sorted and must not overlap")
                previous_end = _seconds(end, end=True)
        object.__setattr__(self, "days", days)

    @property
    def is_empty(self) -> bool:
        return not any(self.days)

    @classmethod
    def office(cls, *, start: time = time(9), end: time = time(17), days: Iterable[int] = range(5)) -> WeeklyHours:
        """The same single span on each of `days` (default Monday to Friday, 09:00-17:00), closed otherwise."""
        open_days = set(days)
        return cls(days=tuple(((start, end),) if day in open_days else () for day in range(7)))

    @classmethod
    def parse(cls, spec: Mapping[str, Sequence[str] | str]) -> WeeklyHours:
        """From {"mon": ["09:00-12:30", "13:30-18:00"], ...}: days missing or empty are closed, "24:00" ends a day."""
        days: list[tuple[Span, ...] | None] = [None for _ in DAY_NAMES]
        for key, entries in spec.items():
            matches = [i for i, name in enumerate(DAY_NAMES) if str(key).strip().lower() in (name, name[:3])]
            if not matches:
                raise ValueError(f"Unknown weekday {key!r} in opening hours (use mon, tue, ... sun)")
            if days[matches[0]] is not None:  # "mon" and "Monday": one would silently win
                raise ValueError(f"Weekday {key!r} is given twice in opening hours")
            spans = []
            for entry in [entries] if isinstance(entries, str) else entries:
                found = _SPAN.match(entry) if isinstance(entry, str) else None
                try:
                    if found is None:
                        raise ValueError("expected HH:MM-HH:MM")
                    spans.append((_parse_time(found[1], end=False), _parse_time(found[2], end=True)))
                except ValueError as error:
                    raise ValueError(f"Bad opening hours for {key!r}: {entry!r} ({error})") from None
            days[matches[0]] = tuple(spans)
        return cls(days=tuple(day or () for day in days))


@lru_cache(maxsize=65536)
def _wall_to_utc(zone: ZoneInfo, day: date, wall_time: time) -> datetime:
    """The first instant at which the clock in `zone` shows `day wall_time` or later."""
    wall = datetime.combine(day, wall_time)
    first = wall.replace(tzinfo=zone)  # fold=0: the first occurrence of an ambiguous (fall-back) time
    instant = first.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a spring-forward gap fold=1 lands just before the jump and fold=0 after it; the clock first shows a
    # time >= wall at the jump itself. Bisect for it (tz transitions fall on whole seconds).
    before, after = first.replace(fold=1).astimezone(UTC), instant
    later_offset = after.astimezone(zone).utcoffset()
    while after - before > _SECOND:
        middle = before + timedelta(seconds=(after - before) // _SECOND // 2)
        if middle.astimezone(zone).utcoffset() == later_offset:
            after = middle
        else:
            before = middle
    return after


@dataclass(frozen=True)
class BusinessCalendar:
    """When the SLA clock may run: weekly hours in `timezone`, minus whole-day `holidays` (local dates).
    `always_open` counts every second (24/7) and ignores hours and holidays."""

    timezone: str = "Europe/Berlin"
    hours: WeeklyHours = field(default_factory=WeeklyHours.office)
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(
                f"Unknown time zone {self.timezone!r} (expected an IANA name like Europe/Berlin)"
            ) from None
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key

    @property
    def never_open(self) -> bool:
        return not self.always_open and self.hours.is_empty

    def open_intervals(self, *, start: datetime, end: datetime) -> Iterator[Period]:
        """The open periods intersected with [start, end), in order, as UTC; touching periods are merged."""
        return self._open_intervals(_utc(start, "start"), _utc(end, "end"))

    def _open_intervals(self, start: datetime, end: datetime) -> Iterator[Period]:
        if end <= start:
            return
        if self.always_open:
            yield start, end
            return
        zone, pending = self.zone, None
        # One step per local day, not per minute. A day's spans lie between its first and the next day's midnight;
        # one spare day on each side covers clocks that go back across midnight.
        day, last_day = start.astimezone(zone).date() - timedelta(days=1), end.astimezone(zone).date()
        while day <= last_day + timedelta(days=1):
            if day not in self.holidays:
                for span_start, span_end in self.hours.days[day.weekday()]:
                    opens = max(start, _wall_to_utc(zone, day, span_start))
                    end_day = day + timedelta(days=1) if span_end == _MIDNIGHT else day  # 24:00 is tomorrow's 00:00
                    closes = min(end, _wall_to_utc(zone, end_day, span_end))
                    if opens >= closes:
                        continue  # outside [start, end) or swallowed by a spring-forward gap
                    if pending is not None and opens <= pending[1]:
                        pending = (pending[0], max(pending[1], closes))  # e.g. 24:00 followed by 00:00
                        continue
                    if pending is not None:
                        yield pending
                    pending = (opens, closes)
            day += timedelta(days=1)
        if pending is not None:
            yield pending

    def business_seconds(self, *, start: datetime, end: datetime) -> int:
        """Open seconds in [start, end); 0 when end <= start."""
        return _total(self.open_intervals(start=start, end=end))

    def add_business_seconds(self, *, start: datetime, seconds: int) -> datetime:
        """The earliest instant t with business_seconds(start, t) == seconds: the end of the counting second, so
        it may be the closing time of a period (Friday 16:00 + 1 h is Friday 17:00). 0 seconds gives `start`."""
        return _reach(self, _utc(start, "start"), seconds, holes=[], stop=None)  # type: ignore[return-value]

    def is_open(self, *, at: datetime) -> bool:
        """Whether the second starting at `at` counts."""
        moment = _utc(at, "at")
        return next(self._open_intervals(moment, moment + _SECOND), None) is not None

    def next_open(self, *, at: datetime) -> datetime:
        """The first open instant at or after `at` (`at` itself when open)."""
        moment = _utc(at, "at")
        if self.never_open:
            raise ValueError("This calendar is never open")
        for opens, _ in self._open_intervals(moment, moment + SEARCH_LIMIT):
            return opens
        raise ValueError("This calendar is not open at all within 3 years (holidays cover everything)")


def holiday_dates(
    *, country: str, subdivision: str = "", years: Iterable[int], extra: Iterable[date] = ()
) -> frozenset[date]:
    """Public holidays of `country` (ISO code, e.g. "DE") and `subdivision` (e.g. "BE" for Berlin) in `years`,
    plus an organization's `extra` closing days."""
    supported = holidays_lib.list_supported_countries()
    code = country.strip().upper()
    if code not in supported:
        raise ValueError(f"Unknown holiday country {country!r} (expected an ISO 3166 code such as DE)")
    # Codes are mostly upper case but not all (DE has "Augsburg"): match without regard to case.
    subdiv = next((s for s in supported[code] if s.lower() == subdivision.strip().lower()), subdivision.strip())
    try:
        table = holidays_lib.country_holidays(code, subdiv=subdiv or None, years=sorted(set(years)))
    except NotImplementedError:
        known = ", ".join(supported[code]) or "none"
        raise ValueError(f"Unknown subdivision {subdivision!r} of {code} (known: {known})") from None
    return frozenset(table) | frozenset(extra)


@dataclass(frozen=True)
class Pause:
    """A span in which the SLA clock stops (waiting on the customer, closed before a reopen); end None = ongoing."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _utc(self.start, "Pause.start")
        if self.end is not None and _utc(self.end, "Pause.end") < _utc(self.start, "Pause.start"):
            raise ValueError(f"A pause cannot end ({self.end}) before it starts ({self.start})")


def _total(periods: Iterable[Period]) -> int:
    return sum((end - start) // _SECOND for start, end in periods)


def _holes(pauses: Sequence[Pause]) -> list[Period]:
    """The pauses as sorted, merged UTC periods (an ongoing pause runs forever), so overlaps count once."""
    holes: list[Period] = []
    for pause in sorted(pauses, key=lambda p: _utc(p.start, "Pause.start")):
        start = _utc(pause.start, "Pause.start")
        end = _FAR_FUTURE if pause.end is None else _utc(pause.end, "Pause.end")
        if holes and start <= holes[-1][1]:
            holes[-1] = (holes[-1][0], max(holes[-1][1], end))
        elif start < end:
            holes.append((start, end))
    return holes


def _subtract(periods: Iterable[Period], holes: list[Period]) -> Iterator[Period]:
    """`periods` minus `holes`; both sorted and disjoint, so one forward pass suffices."""
    first = 0
    for start, end in periods:
        while first < len(holes) and holes[first][1] <= start:
            first += 1  # ends before this period, so before every later one too
        cursor, index = start, first
        while index < len(holes) and holes[index][0] < end:
            if holes[index][0] > cursor:
                yield cursor, holes[index][0]
            cursor = max(cursor, holes[index][1])
            index += 1
        if cursor < end:
            yield cursor, end


def _reach(
    calendar: BusinessCalendar, start: datetime, target: int, *, holes: list[Period], stop: datetime | None
) -> datetime | None:
    """The earliest t at which the counted time in [start, t) equals `target`; None if the clock stops (an
    ongoing pause from `stop` on) before."""
    if target < 0:
        raise ValueError(f"A target cannot be negative, got {target} seconds")
    if target == 0:
        return start
    if calendar.never_open:
        raise ValueError("This calendar is never open")
    horizon = start + SEARCH_LIMIT
    remaining = timedelta(seconds=target)
    for opens, closes in _subtract(calendar._open_intervals(start, min(horizon, stop or horizon)), holes):
        if closes - opens >= remaining:
            return opens + remaining
        remaining -= closes - opens
    if stop is not None and stop < horizon:
        return None
    raise ValueError(
        f"A target of {format_duration(target)} is not reached within 3 years: the calendar is hardly open"
    )


def elapsed_business_seconds(
    *, calendar: BusinessCalendar, start: datetime, now: datetime, pauses: Sequence[Pause]
) -> int:
    """Open seconds in [start, now) outside every pause (overlapping pauses count once); never negative."""
    return _total(_subtract(calendar.open_intervals(start=start, end=now), _holes(pauses)))


def due_at(
    *, calendar: BusinessCalendar, start: datetime, target_seconds: int, pauses: Sequence[Pause]
) -> datetime | None:
    """When the clock started at `start` reaches `target_seconds`; past pauses push it later by the business
    time they cover. None while an ongoing pause stops the clock before the target (unknown until it resumes)."""
    ongoing = [_utc(p.start, "Pause.start") for p in pauses if p.end is None]
    return _reach(calendar, _utc(start, "start"), target_seconds, holes=_holes(pauses), stop=min(ongoing, default=None))


@dataclass(frozen=True)
class SlaStatus:
    target_seconds: int
    elapsed_seconds: int
    remaining_seconds: int  # target - elapsed, in business seconds: negative when overdue
    due_at: datetime | None
    breached: bool
    paused: bool


def sla_status(
    *,
    calendar: BusinessCalendar,
    start: datetime,
    now: datetime,
    target_seconds: int,
    pauses: Sequence[Pause],
    met_at: datetime | None = None,
) -> SlaStatus:
    """The clock up to `now`, or up to `met_at` once the target event (e.g. first response) happened.

    Breached means the event came (or `now` is) strictly after the instant the target was reached. That is
    elapsed > target, and also elapsed == target when closed hours passed since: a ticket due Friday 17:00 and
    answered on Saturday is late, though no business time elapsed after 17:00."""
    if target_seconds < 0:
        raise ValueError(f"A target cannot be negative, got {target_seconds} seconds")
    end = _utc(now if met_at is None else met_at, "met_at" if met_at is not None else "now")
    if met_at is not None:  # what happened after the event no longer matters; an ongoing pause ends there
        pauses = [Pause(start=p.start, end=end if p.end is None else min(end, _utc(p.end, "Pause.end")))
                  for p in pauses if _utc(p.start, "Pause.start") < end]  # fmt: skip
    elapsed = elapsed_business_seconds(calendar=calendar, start=start, now=end, pauses=pauses)
    try:
        due = due_at(calendar=calendar, start=start, target_seconds=target_seconds, pauses=pauses)
    except ValueError:  # a calendar (almost) never open: no due date, but the page must still render
        due = None
    paused = met_at is None and any(
        _utc(p.start, "Pause.start") <= end and (p.end is None or end < _utc(p.end, "Pause.end")) for p in pauses
    )
    return SlaStatus(
        target_seconds=target_seconds,
        elapsed_seconds=elapsed,
        remaining_seconds=target_seconds - elapsed,
        due_at=due,
        breached=due is not None and end > due,
        paused=paused,
    )


def format_duration(seconds: int) -> str:
    """Business time for humans: "< 1 min", "45 min", "3 h 20 min", "2 d 4 h" (a day is 24 counted hours, not a
    business day); rounded down; negative as "overdue by 1 h 5 min"."""
    if seconds < 0:
        return f"overdue by {format_duration(-seconds)}"
    if 0 < seconds < 60:
        return "< 1 min"
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
