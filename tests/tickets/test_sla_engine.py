"""The SLA arithmetic (tickets.sla): hand-checked cases with explicit instants, then properties with hypothesis.

No database: tickets.sla is pure Python.
"""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla import (
    BusinessCalendar,
    Pause,
    WeeklyHours,
    due_at,
    elapsed_business_seconds,
    format_duration,
    holiday_dates,
    sla_status,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600
OFFICE = BusinessCalendar()  # Berlin, Monday to Friday 09:00-17:00


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def only_sunday(start: time, end: time) -> WeeklyHours:
    return WeeklyHours(days=((),) * 6 + (((start, end),),))


# --- Business hours: Berlin, Monday to Friday 09:00-17:00 --------------------------------------------------------


@pytest.mark.parametrize(
    ("arrival", "due"),
    [
        (berlin(2026, 6, 12, 16, 30), berlin(2026, 6, 15, 9, 30)),  # Friday 16:30: 30 min Friday, 30 min Monday
        (berlin(2026, 6, 13, 10, 0), berlin(2026, 6, 15, 10, 0)),  # Saturday: the clock starts Monday 09:00
        (berlin(2026, 6, 16, 8, 0), berlin(2026, 6, 16, 10, 0)),  # Tuesday 08:00: before opening
        (berlin(2026, 6, 12, 16, 0), berlin(2026, 6, 12, 17, 0)),  # ends exactly at closing time, not Monday
    ],
)
def test_one_hour_target_in_business_hours(arrival: datetime, due: datetime) -> None:
    assert OFFICE.add_business_seconds(start=arrival, seconds=HOUR) == due
    assert OFFICE.business_seconds(start=arrival, end=due) == HOUR


def test_results_are_utc_and_sub_seconds_are_dropped() -> None:
    due = OFFICE.add_business_seconds(start=berlin(2026, 6, 16, 10, 0, 0, 900_000), seconds=60)
    assert due == datetime(2026, 6, 16, 8, 1, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_zero_target_is_due_now_even_when_closed() -> None:
    saturday = berlin(2026, 6, 13, 10, 0)
    assert OFFICE.add_business_seconds(start=saturday, seconds=0) == saturday


def test_is_open_and_next_open() -> None:
    assert OFFICE.is_open(at=berlin(2026, 6, 12, 9, 0))
    assert OFFICE.is_open(at=berlin(2026, 6, 12, 16, 59, 59))
    assert not OFFICE.is_open(at=berlin(2026, 6, 12, 17, 0))  # [09:00, 17:00): closing time is closed
    assert not OFFICE.is_open(at=berlin(2026, 6, 13, 12, 0))
    assert OFFICE.next_open(at=berlin(2026, 6, 12, 17, 0)) == berlin(2026, 6, 15, 9, 0)
    assert OFFICE.next_open(at=berlin(2026, 6, 12, 11, 0)) == berlin(2026, 6, 12, 11, 0)


def test_a_week_has_forty_hours_and_reversed_ranges_have_none() -> None:
    monday, next_monday = berlin(2026, 6, 15), berlin(2026, 6, 22)
    assert OFFICE.business_seconds(start=monday, end=next_monday) == 40 * HOUR
    assert OFFICE.business_seconds(start=next_monday, end=monday) == 0
    assert list(OFFICE.open_intervals(start=berlin(2026, 6, 15, 12), end=berlin(2026, 6, 16, 10))) == [
        (berlin(2026, 6, 15, 12), berlin(2026, 6, 15, 17)),
        (berlin(2026, 6, 16, 9), berlin(2026, 6, 16, 10)),
    ]


def test_a_year_is_computed_per_day_not_per_minute() -> None:
    # 2026 has 261 weekdays; no holidays configured
    assert OFFICE.business_seconds(start=berlin(2026, 1, 1), end=berlin(2027, 1, 1)) == 261 * 8 * HOUR


def test_split_shift() -> None:
    calendar = BusinessCalendar(
        hours=WeeklyHours.parse({day: ["09:00-12:30", "13:30-18:00"] for day in ["mon", "tue", "wed", "thu", "fri"]})
    )
    assert calendar.add_business_seconds(start=berlin(2026, 6, 16, 12, 0), seconds=HOUR) == berlin(2026, 6, 16, 14, 0)
    assert not calendar.is_open(at=berlin(2026, 6, 16, 13, 0))
    assert calendar.business_seconds(start=berlin(2026, 6, 16), end=berlin(2026, 6, 17)) == 8 * HOUR  # 3.5 h + 4.5 h


def test_midnight_end_means_end_of_day_and_days_merge() -> None:
    hours = WeeklyHours.parse({"mon": "18:00-24:00", "tue": ["00:00-02:00"]})
    assert hours.days[0] == ((time(18), time(0)),)
    calendar = BusinessCalendar(hours=hours)
    # Monday 18:00 to Tuesday 02:00 is one open period
    assert list(calendar.open_intervals(start=berlin(2026, 6, 15), end=berlin(2026, 6, 17))) == [
        (berlin(2026, 6, 15, 18), berlin(2026, 6, 16, 2)),
    ]
    assert calendar.add_business_seconds(start=berlin(2026, 6, 15, 23), seconds=2 * HOUR) == berlin(2026, 6, 16, 1)


# --- Holidays ------------------------------------------------------------------------------------------------------


def test_berlin_holidays_from_the_package() -> None:
    days = holiday_dates(country="DE", subdivision="BE", years=[2026])
    assert date(2026, 12, 25) in days
    assert date(2026, 12, 26) in days
    assert date(2026, 12, 24) not in days  # Christmas Eve is not a public holiday
    assert date(2026, 3, 8) in days  # International Women's Day: Berlin only
    assert date(2026, 3, 8) not in holiday_dates(country="DE", subdivision="BY", years=[2026])
    assert holiday_dates(country="de", subdivision="be", years=[2026]) == days  # codes are case-insensitive


def test_christmas_is_skipped() -> None:
    calendar = BusinessCalendar(holidays=holiday_dates(country="DE", subdivision="BE", years=[2026, 2027]))
    # Thursday 24 Dec 16:30: Friday 25 is a holiday, then the weekend
    assert calendar.add_business_seconds(start=berlin(2026, 12, 24, 16, 30), seconds=HOUR) == berlin(
        2026, 12, 28, 9, 30
    )
    # Thursday 31 Dec 16:30: New Year's Day is a Friday
    assert calendar.add_business_seconds(start=berlin(2026, 12, 31, 16, 30), seconds=HOUR) == berlin(2027, 1, 4, 9, 30)
    assert not calendar.is_open(at=berlin(2026, 12, 25, 11, 0))


def test_an_organizations_own_closing_day_is_skipped() -> None:
    days = holiday_dates(country="DE", subdivision="BE", years=[2026], extra=[date(2026, 12, 28)])
    calendar = BusinessCalendar(holidays=days)
    assert calendar.add_business_seconds(start=berlin(2026, 12, 24, 16, 30), seconds=HOUR) == berlin(
        2026, 12, 29, 9, 30
    )


def test_womens_day_closes_berlin_but_not_bavaria() -> None:
    friday = berlin(2027, 3, 5, 16, 30)  # Monday 8 March 2027 is International Women's Day
    in_berlin = BusinessCalendar(holidays=holiday_dates(country="DE", subdivision="BE", years=[2027]))
    in_bavaria = BusinessCalendar(holidays=holiday_dates(country="DE", subdivision="BY", years=[2027]))
    assert in_berlin.add_business_seconds(start=friday, seconds=HOUR) == berlin(2027, 3, 9, 9, 30)
    assert in_bavaria.add_business_seconds(start=friday, seconds=HOUR) == berlin(2027, 3, 8, 9, 30)


# --- Daylight saving time ------------------------------------------------------------------------------------------


def test_always_open_counts_real_seconds_across_dst() -> None:
    always = BusinessCalendar(always_open=True)
    # Spring forward, 29 March 2026 02:00 -> 03:00: noon to noon is 23 real hours
    assert always.business_seconds(start=berlin(2026, 3, 28, 12), end=berlin(2026, 3, 29, 12)) == 23 * HOUR
    # Fall back, 25 October 2026 03:00 -> 02:00: noon to noon is 25 real hours
    assert always.business_seconds(start=berlin(2026, 10, 24, 12), end=berlin(2026, 10, 25, 12)) == 25 * HOUR
    assert always.add_business_seconds(start=berlin(2026, 3, 28, 12), seconds=24 * HOUR) == berlin(2026, 3, 29, 13)


def test_night_hours_on_the_days_of_change() -> None:
    calendar = BusinessCalendar(hours=only_sunday(time(1), time(4)))
    spring = list(calendar.open_intervals(start=berlin(2026, 3, 29), end=berlin(2026, 3, 30)))
    assert spring == [(datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))]  # 2 h
    autumn = list(calendar.open_intervals(start=berlin(2026, 10, 25), end=berlin(2026, 10, 26)))
    assert autumn == [(datetime(2026, 10, 24, 23, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC))]  # 4 h
    assert calendar.business_seconds(start=berlin(2026, 3, 29), end=berlin(2026, 3, 30)) == 2 * HOUR
    assert calendar.business_seconds(start=berlin(2026, 10, 25), end=berlin(2026, 10, 26)) == 4 * HOUR
    assert calendar.business_seconds(start=berlin(2026, 6, 14), end=berlin(2026, 6, 15)) == 3 * HOUR  # usual Sunday


def test_wall_times_in_the_gap_and_the_repeated_hour() -> None:
    # 02:30 does not exist on 29 March: the period opens at the first instant after the gap, 03:00 CEST
    gap = BusinessCalendar(hours=only_sunday(time(2, 30), time(5)))
    assert next(gap.open_intervals(start=berlin(2026, 3, 29), end=berlin(2026, 3, 30))) == (
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 3, 29, 3, tzinfo=UTC),
    )
    inside_gap = BusinessCalendar(hours=only_sunday(time(2, 15), time(2, 45)))
    assert inside_gap.business_seconds(start=berlin(2026, 3, 29), end=berlin(2026, 3, 30)) == 0
    # 02:30 happens twice on 25 October: both starts and ends mean the first time (CEST, fold=0)
    starts_twice = BusinessCalendar(hours=only_sunday(time(2, 30), time(5)))
    assert next(starts_twice.open_intervals(start=berlin(2026, 10, 25), end=berlin(2026, 10, 26))) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 4, tzinfo=UTC),
    )
    ends_twice = BusinessCalendar(hours=only_sunday(time(0), time(2, 30)))
    assert next(ends_twice.open_intervals(start=berlin(2026, 10, 25), end=berlin(2026, 10, 26))) == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("friday", "tuesday"),
    [(berlin(2026, 3, 27), berlin(2026, 3, 31)), (berlin(2026, 10, 23), berlin(2026, 10, 27))],
)
def test_dst_does_not_change_an_office_day(friday: datetime, tuesday: datetime) -> None:
    assert OFFICE.business_seconds(start=friday, end=tuesday) == 16 * HOUR  # Friday and Monday, 8 h each
    monday = tuesday - timedelta(days=1)
    assert OFFICE.add_business_seconds(start=monday, seconds=8 * HOUR) == monday.replace(hour=17)


def test_new_york_calendar_and_its_own_dst_dates() -> None:
    office = BusinessCalendar(timezone="America/New_York")
    # US clocks go forward on 8 March 2026, three weeks before Berlin's
    assert next(office.open_intervals(start=new_york(2026, 3, 6), end=new_york(2026, 3, 7))) == (
        datetime(2026, 3, 6, 14, tzinfo=UTC),  # EST, UTC-5
        datetime(2026, 3, 6, 22, tzinfo=UTC),
    )
    assert office.add_business_seconds(start=new_york(2026, 3, 6, 16, 30), seconds=HOUR) == datetime(
        2026,
        3,
        9,
        13,
        30,
        tzinfo=UTC,  # Monday 09:30 EDT, UTC-4
    )
    always = BusinessCalendar(timezone="America/New_York", always_open=True)
    assert always.business_seconds(start=new_york(2026, 3, 7, 12), end=new_york(2026, 3, 8, 12)) == 23 * HOUR
    assert always.business_seconds(start=new_york(2026, 10, 31, 12), end=new_york(2026, 11, 1, 12)) == 25 * HOUR
    nights = BusinessCalendar(timezone="America/New_York", hours=only_sunday(time(1), time(4)))
    assert nights.business_seconds(start=new_york(2026, 3, 8), end=new_york(2026, 3, 9)) == 2 * HOUR
    assert nights.business_seconds(start=new_york(2026, 3, 29), end=new_york(2026, 3, 30)) == 3 * HOUR  # Berlin's day
    assert nights.business_seconds(start=new_york(2026, 11, 1), end=new_york(2026, 11, 2)) == 4 * HOUR


# --- Seed 003: 1 hour in business hours, 4 hours outside ----------------------------------------------------------


def test_four_hours_outside_business_hours_on_a_24_7_calendar() -> None:
    always = BusinessCalendar(always_open=True, holidays=frozenset({date(2026, 6, 13)}))  # 24/7 ignores holidays
    saturday = berlin(2026, 6, 13, 10, 0)
    assert not OFFICE.is_open(at=saturday)
    assert always.add_business_seconds(start=saturday, seconds=4 * HOUR) == berlin(2026, 6, 13, 14, 0)
    assert always.is_open(at=saturday)


# --- Pauses: waiting on the customer, closed and reopened ----------------------------------------------------------


def test_a_past_pause_moves_the_due_time_by_its_business_time() -> None:
    start = berlin(2026, 6, 15, 9, 0)  # Monday
    assert due_at(calendar=OFFICE, start=start, target_seconds=4 * HOUR, pauses=[]) == berlin(2026, 6, 15, 13, 0)
    waiting = [Pause(start=berlin(2026, 6, 15, 10, 0), end=berlin(2026, 6, 15, 12, 0))]
    assert due_at(calendar=OFFICE, start=start, target_seconds=4 * HOUR, pauses=waiting) == berlin(2026, 6, 15, 15, 0)
    elapsed = elapsed_business_seconds(calendar=OFFICE, start=start, now=berlin(2026, 6, 15, 14, 0), pauses=waiting)
    assert elapsed == 3 * HOUR


def test_an_open_pause_stops_the_clock_and_hides_the_due_time() -> None:
    start = berlin(2026, 6, 15, 9, 0)
    waiting = [Pause(start=berlin(2026, 6, 15, 10, 0), end=None)]
    assert due_at(calendar=OFFICE, start=start, target_seconds=4 * HOUR, pauses=waiting) is None
    for now in (berlin(2026, 6, 15, 11, 0), berlin(2026, 6, 15, 16, 0), berlin(2026, 6, 19, 16, 0)):
        assert elapsed_business_seconds(calendar=OFFICE, start=start, now=now, pauses=waiting) == HOUR
    status = sla_status(
        calendar=OFFICE, start=start, now=berlin(2026, 6, 16, 12), target_seconds=4 * HOUR, pauses=waiting
    )
    assert (status.paused, status.due_at, status.elapsed_seconds, status.remaining_seconds) == (
        True,
        None,
        HOUR,
        3 * HOUR,
    )
    assert not status.breached


def test_a_due_time_already_passed_stays_known_while_paused() -> None:
    start = berlin(2026, 6, 15, 9, 0)
    waiting = [Pause(start=berlin(2026, 6, 15, 11, 0), end=None)]  # set to waiting after the 1 h target passed
    status = sla_status(calendar=OFFICE, start=start, now=berlin(2026, 6, 15, 12), target_seconds=HOUR, pauses=waiting)
    assert status.due_at == berlin(2026, 6, 15, 10, 0)
    assert status.breached
    assert status.paused
    assert status.remaining_seconds == -HOUR


def test_overlapping_pauses_count_once() -> None:
    start = berlin(2026, 6, 15, 9, 0)
    pauses = [
        Pause(start=berlin(2026, 6, 15, 10, 0), end=berlin(2026, 6, 15, 12, 0)),
        Pause(start=berlin(2026, 6, 15, 11, 0), end=berlin(2026, 6, 15, 13, 0)),
        Pause(start=berlin(2026, 6, 15, 11, 30), end=berlin(2026, 6, 15, 11, 45)),
    ]
    assert due_at(calendar=OFFICE, start=start, target_seconds=4 * HOUR, pauses=pauses) == berlin(2026, 6, 15, 16, 0)
    assert (
        elapsed_business_seconds(calendar=OFFICE, start=start, now=berlin(2026, 6, 15, 17), pauses=pauses) == 5 * HOUR
    )


def test_a_pause_before_the_start_or_over_a_weekend_subtracts_nothing_extra() -> None:
    friday = berlin(2026, 6, 12, 16, 0)
    unpaused = due_at(calendar=OFFICE, start=friday, target_seconds=2 * HOUR, pauses=[])
    assert unpaused == berlin(2026, 6, 15, 10, 0)
    weekend = [Pause(start=berlin(2026, 6, 12, 17, 0), end=berlin(2026, 6, 15, 9, 0))]
    assert due_at(calendar=OFFICE, start=friday, target_seconds=2 * HOUR, pauses=weekend) == unpaused
    # Waiting from Friday 16:30 to Monday 09:30 covers 1 business hour, not 65 real ones
    longer = [Pause(start=berlin(2026, 6, 12, 16, 30), end=berlin(2026, 6, 15, 9, 30))]
    assert due_at(calendar=OFFICE, start=friday, target_seconds=2 * HOUR, pauses=longer) == berlin(2026, 6, 15, 11, 0)
    earlier = [Pause(start=berlin(2026, 6, 11, 9, 0), end=berlin(2026, 6, 12, 16, 30))]  # began before the ticket
    assert due_at(calendar=OFFICE, start=friday, target_seconds=2 * HOUR, pauses=earlier) == berlin(2026, 6, 15, 10, 30)


def test_closed_and_reopened_counts_as_a_pause() -> None:
    start = berlin(2026, 6, 15, 9, 0)  # resolution target: 2 business days
    closed = [Pause(start=berlin(2026, 6, 15, 15, 0), end=berlin(2026, 6, 16, 11, 0))]  # reopened Tuesday 11:00
    assert due_at(calendar=OFFICE, start=start, target_seconds=16 * HOUR, pauses=[]) == berlin(2026, 6, 16, 17, 0)
    assert due_at(calendar=OFFICE, start=start, target_seconds=16 * HOUR, pauses=closed) == berlin(2026, 6, 17, 13, 0)
    status = sla_status(
        calendar=OFFICE, start=start, now=berlin(2026, 6, 17, 12), target_seconds=16 * HOUR, pauses=closed
    )
    assert (status.elapsed_seconds, status.remaining_seconds, status.breached, status.paused) == (
        15 * HOUR,
        HOUR,
        False,
        False,
    )


# --- sla_status ----------------------------------------------------------------------------------------------------


def test_status_of_a_late_first_response() -> None:
    start = berlin(2026, 6, 15, 9, 0)
    status = sla_status(
        calendar=OFFICE,
        start=start,
        now=berlin(2026, 6, 16, 9),
        target_seconds=HOUR,
        pauses=[],
        met_at=berlin(2026, 6, 15, 10, 30),
    )
    assert status.elapsed_seconds == 5400  # measured up to the response, not to now
    assert status.remaining_seconds == -1800
    assert status.breached
    assert not status.paused
    assert status.due_at == berlin(2026, 6, 15, 10, 0)
    assert format_duration(status.remaining_seconds) == "overdue by 30 min"


def test_status_of_a_timely_response_and_an_open_ticket() -> None:
    start = berlin(2026, 6, 12, 16, 30)  # Friday
    met = sla_status(
        calendar=OFFICE,
        start=start,
        now=berlin(2026, 6, 16),
        target_seconds=HOUR,
        pauses=[],
        met_at=berlin(2026, 6, 13, 10),
    )
    assert (met.elapsed_seconds, met.breached) == (1800, False)  # answered on Saturday, due Monday 09:30
    waiting = sla_status(calendar=OFFICE, start=start, now=berlin(2026, 6, 15, 9, 15), target_seconds=HOUR, pauses=[])
    assert waiting.due_at == berlin(2026, 6, 15, 9, 30)
    assert (waiting.elapsed_seconds, waiting.remaining_seconds, waiting.breached) == (2700, 900, False)


def test_answered_on_saturday_when_due_friday_is_late() -> None:
    start = berlin(2026, 6, 12, 16, 0)  # due Friday 17:00
    kwargs = {"calendar": OFFICE, "start": start, "target_seconds": HOUR, "pauses": []}
    at_closing = sla_status(now=berlin(2026, 6, 12, 17), **kwargs)
    assert (at_closing.remaining_seconds, at_closing.breached) == (0, False)
    saturday = sla_status(now=berlin(2026, 6, 13, 10), **kwargs)
    assert (saturday.remaining_seconds, saturday.breached) == (0, True)  # no business time left, yet late
    met_saturday = sla_status(now=berlin(2026, 6, 16), met_at=berlin(2026, 6, 13, 10), **kwargs)
    assert (met_saturday.elapsed_seconds, met_saturday.breached) == (HOUR, True)


def test_met_during_an_open_pause() -> None:
    start = berlin(2026, 6, 15, 9, 0)
    closed = [Pause(start=berlin(2026, 6, 15, 10, 0), end=None)]  # resolved at 10:00 and still closed
    status = sla_status(
        calendar=OFFICE,
        start=start,
        now=berlin(2026, 6, 20),
        target_seconds=4 * HOUR,
        pauses=closed,
        met_at=berlin(2026, 6, 15, 10),
    )
    assert (status.elapsed_seconds, status.breached, status.paused) == (HOUR, False, False)
    assert status.due_at == berlin(2026, 6, 15, 13, 0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (59, "< 1 min"),
        (45 * 60, "45 min"),
        (3 * HOUR + 20 * 60 + 59, "3 h 20 min"),
        (3 * HOUR, "3 h"),
        (52 * HOUR + 30 * 60, "2 d 4 h"),
        (48 * HOUR, "2 d"),
        (-(HOUR + 5 * 60), "overdue by 1 h 5 min"),
        (-30, "overdue by < 1 min"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


# --- Errors --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mon": ["09:00-12:30", "12:00-18:00"]}, "Monday 12:00-18:00: intervals must be sorted and must not overlap"),
        ({"tue": ["13:30-18:00", "09:00-12:30"]}, "Tuesday 09:00-12:30: intervals must be sorted"),
        ({"wed": "17:00-09:00"}, "Wednesday 17:00-09:00: the start must be before the end"),
        ({"thu": "09:00-09:00"}, "Thursday 09:00-09:00: the start must be before the end"),
        ({"fri": ["09:00-25:00"]}, "Bad opening hours for 'fri': '09:00-25:00'"),
        ({"fri": ["9 to 5"]}, "Bad opening hours for 'fri': '9 to 5' (expected HH:MM-HH:MM)"),
        ({"sat": ["24:00-24:00"]}, "Bad opening hours for 'sat': '24:00-24:00'"),
        ({"funday": ["09:00-17:00"]}, "Unknown weekday 'funday'"),
        ({"mon": "09:00-12:00", "Monday": "13:00-17:00"}, "Weekday 'Monday' is given twice"),
    ],
)
def test_bad_weekly_hours(spec: dict, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        WeeklyHours.parse(spec)


def test_bad_weekly_hours_built_directly() -> None:
    with pytest.raises(ValueError, match="7 weekdays"):
        WeeklyHours(days=(((time(9), time(17)),),))
    with pytest.raises(ValueError, match="Monday 18:00-17:00: the start must be before the end"):
        WeeklyHours.office(start=time(18), end=time(17))


def test_never_open_calendar() -> None:
    never = BusinessCalendar(hours=WeeklyHours(days=((),) * 7))
    with pytest.raises(ValueError, match="This calendar is never open"):
        never.add_business_seconds(start=berlin(2026, 6, 15), seconds=1)
    with pytest.raises(ValueError, match="This calendar is never open"):
        never.next_open(at=berlin(2026, 6, 15))
    assert never.business_seconds(start=berlin(2026, 1, 1), end=berlin(2027, 1, 1)) == 0
    status = sla_status(
        calendar=never, start=berlin(2026, 6, 15), now=berlin(2026, 6, 16), target_seconds=HOUR, pauses=[]
    )
    assert (status.due_at, status.breached, status.elapsed_seconds) == (None, False, 0)


def test_holidays_covering_years_end_the_search() -> None:
    closed = frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(5 * 366))
    calendar = BusinessCalendar(holidays=closed)
    with pytest.raises(ValueError, match="not reached within 3 years"):
        calendar.add_business_seconds(start=berlin(2026, 1, 1), seconds=HOUR)
    with pytest.raises(ValueError, match="not open at all within 3 years"):
        calendar.next_open(at=berlin(2026, 1, 1))


def test_unknown_holiday_country_or_subdivision() -> None:
    with pytest.raises(ValueError, match="Unknown holiday country 'XX'"):
        holiday_dates(country="XX", years=[2026])
    with pytest.raises(ValueError, match=r"Unknown subdivision 'ZZ' of DE \(known: BB, BE, "):
        holiday_dates(country="DE", subdivision="ZZ", years=[2026])


def test_other_bad_input() -> None:
    with pytest.raises(ValueError, match="Unknown time zone 'Europe/Atlantis'"):
        BusinessCalendar(timezone="Europe/Atlantis")
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        OFFICE.business_seconds(start=datetime(2026, 6, 15, 9), end=berlin(2026, 6, 16))  # noqa: DTZ001
    with pytest.raises(ValueError, match="cannot end"):
        Pause(start=berlin(2026, 6, 15, 10), end=berlin(2026, 6, 15, 9))
    with pytest.raises(ValueError, match="cannot be negative"):
        OFFICE.add_business_seconds(start=berlin(2026, 6, 15), seconds=-1)


# --- Properties ----------------------------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
# Instants near the DST changes of those zones in 2026, so the properties meet gaps and repeated hours often
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 4, 4, 16, tzinfo=UTC),
    datetime(2026, 10, 3, 16, tzinfo=UTC),
]
PROPERTIES = settings(max_examples=200, deadline=None)


def quarter_hour(n: int) -> time:
    return time(0) if n == 96 else time(n // 4, n % 4 * 15)  # 96 quarters: 24:00, the end of the day


@st.composite
def weekly_hours(draw: st.DrawFn) -> WeeklyHours:
    days = []
    for _ in range(7):
        points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))  # up to 3 spans: split shifts
        days.append(tuple((quarter_hour(a), quarter_hour(b)) for a, b in zip(points[::2], points[1::2], strict=False)))
    return WeeklyHours(days=tuple(days))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        hours=draw(weekly_hours()),
        holidays=draw(st.frozensets(st.dates(date(2024, 12, 25), date(2028, 1, 5)), max_size=40)),
        always_open=draw(st.integers(0, 9)) == 0,
    )


# hypothesis wants naive bounds when it is given the time zones to attach
FIRST, LAST = datetime(2025, 1, 1), datetime(2027, 12, 31)  # noqa: DTZ001
instants = st.one_of(
    st.datetimes(FIRST, LAST, timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)),
    st.builds(
        lambda change, offset: change + timedelta(seconds=offset),
        st.sampled_from(CHANGES),
        st.integers(-172800, 172800),
    ),
)
spans = st.integers(0, 400 * 86400).map(lambda seconds: timedelta(seconds=seconds))


@PROPERTIES
@given(calendar=calendars(), start=instants, first=spans, second=spans)
def test_business_time_is_bounded_and_additive(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    middle, end = start + first, start + first + second
    whole = calendar.business_seconds(start=start, end=end)
    assert 0 <= whole <= (end - start).total_seconds()
    assert whole == calendar.business_seconds(start=start, end=middle) + calendar.business_seconds(
        start=middle, end=end
    )
    assert calendar.business_seconds(start=end, end=start) == 0 or start == end
    if calendar.always_open:
        assert whole == (end - start).total_seconds()


@PROPERTIES
@given(calendar=calendars(), start=instants, length=st.integers(0, 30 * 86400))
def test_open_periods_are_open_and_the_gaps_between_them_closed(
    calendar: BusinessCalendar, start: datetime, length: int
) -> None:
    end = start + timedelta(seconds=length)
    periods = list(calendar.open_intervals(start=start, end=end))
    one = timedelta(seconds=1)
    for opens, closes in periods:
        assert start <= opens < closes <= end
        assert calendar.is_open(at=opens)
        assert calendar.is_open(at=closes - one)
    for (_, closes), (opens, _) in pairwise(periods):
        assert closes < opens  # touching periods are merged
        assert calendar.business_seconds(start=closes, end=opens) == 0
        assert not calendar.is_open(at=closes)
        assert not calendar.is_open(at=opens - one)
        assert calendar.next_open(at=closes) == opens


@PROPERTIES
@given(calendar=calendars(), data=st.data())
def test_holidays_have_no_business_time(calendar: BusinessCalendar, data: st.DataObject) -> None:
    if calendar.always_open or not calendar.holidays:
        return
    day = data.draw(st.sampled_from(sorted(calendar.holidays)))
    zone = ZoneInfo(calendar.timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    assert calendar.business_seconds(start=start, end=end) == 0
    assert not any(calendar.is_open(at=start + timedelta(minutes=m)) for m in range(0, 24 * 60, 17))


@PROPERTIES
@given(calendar=calendars(), start=instants)
def test_is_open_agrees_with_the_wall_clock(calendar: BusinessCalendar, start: datetime) -> None:
    """An independent oracle: read the local clock and look the time up in the weekly hours."""
    zone = ZoneInfo(calendar.timezone)
    for minutes in range(0, 2 * 24 * 60, 7):
        at = start + timedelta(minutes=minutes)
        if (at - timedelta(hours=26)).astimezone(zone).utcoffset() != (at + timedelta(hours=26)).astimezone(
            zone
        ).utcoffset():
            continue  # days with a DST change follow the first-instant rule, checked by hand above
        local = at.astimezone(zone)
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        expected = calendar.always_open or (
            local.date() not in calendar.holidays
            and any(
                s.hour * 3600 + s.minute * 60 <= seconds < (e.hour * 3600 + e.minute * 60 or 86400)
                for s, e in calendar.hours.days[local.weekday()]
            )
        )
        assert calendar.is_open(at=at) == expected, at


@PROPERTIES
@given(calendar=calendars(), start=instants, raw=st.integers(0, 10**8))
def test_add_business_seconds_inverts_business_seconds(calendar: BusinessCalendar, start: datetime, raw: int) -> None:
    if calendar.never_open:
        with pytest.raises(ValueError, match="never open"):
            calendar.add_business_seconds(start=start, seconds=raw + 1)
        return
    seconds = raw % (calendar.business_seconds(start=start, end=start + timedelta(days=400)) + 1)  # reachable
    due = calendar.add_business_seconds(start=start, seconds=seconds)
    assert due >= start
    assert calendar.business_seconds(start=start, end=due) == seconds
    if seconds == 0:
        assert due == start
    else:  # the earliest such instant: the last counted second is open, so `due` is open or ends an open period
        assert calendar.is_open(at=due - timedelta(seconds=1))
        assert calendar.business_seconds(start=start, end=due - timedelta(seconds=1)) == seconds - 1


pauses_strategy = st.lists(
    st.builds(
        lambda offset, length: (timedelta(seconds=offset), None if length is None else timedelta(seconds=length)),
        st.integers(-5 * 86400, 40 * 86400),
        st.none() | st.integers(0, 10 * 86400),
    ),
    max_size=6,
)


@PROPERTIES
@given(
    calendar=calendars(),
    start=instants,
    length=st.integers(0, 45 * 86400),
    raw_pauses=pauses_strategy,
    raw=st.integers(0, 10**8),
)
def test_pauses_only_ever_stop_the_clock(
    calendar: BusinessCalendar, start: datetime, length: int, raw_pauses: list, raw: int
) -> None:
    now = start + timedelta(seconds=length)
    pauses = [
        Pause(start=start + offset, end=None if size is None else start + offset + size) for offset, size in raw_pauses
    ]
    unpaused = calendar.business_seconds(start=start, end=now)
    paused = elapsed_business_seconds(calendar=calendar, start=start, now=now, pauses=pauses)
    assert 0 <= paused <= unpaused
    assert elapsed_business_seconds(calendar=calendar, start=start, now=now, pauses=pauses + pauses) == paused
    closed = [pause for pause in pauses if pause.end is not None]
    if calendar.never_open:
        return
    target = raw % (
        elapsed_business_seconds(calendar=calendar, start=start, now=start + timedelta(days=400), pauses=closed) + 1
    )
    due = due_at(calendar=calendar, start=start, target_seconds=target, pauses=closed)
    assert due is not None
    assert elapsed_business_seconds(calendar=calendar, start=start, now=due, pauses=closed) == target
    assert due >= calendar.add_business_seconds(start=start, seconds=target)  # pauses never bring it earlier
    status = sla_status(calendar=calendar, start=start, now=now, target_seconds=target, pauses=pauses)
    assert status.elapsed_seconds == paused
    assert status.remaining_seconds == target - paused
    assert status.breached == (status.due_at is not None and now > status.due_at)
    if status.elapsed_seconds > target:
        assert status.breached
