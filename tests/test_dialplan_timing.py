"""Time-conditioned includes, read and checked as Asterisk's ast_build_timing / ast_check_timing2 do."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.timing import build_timing

# 2026-11-27 is a Friday, 2026-11-28 a Saturday, 2026-12-01 a Tuesday.
FRI, SAT, TUE = (2026, 11, 27), (2026, 11, 28), (2026, 12, 1)


@pytest.mark.parametrize("spec,day,hm,open_", [
    ("09:00-17:00,mon-fri,*,*", FRI, (9, 0), True),
    ("09:00-17:00,mon-fri,*,*", FRI, (8, 59), False),
    ("09:00-17:00,mon-fri,*,*", FRI, (17, 0), True),     # the end minute is included
    ("09:00-17:00,mon-fri,*,*", FRI, (17, 1), False),
    ("09:00-17:00,mon-fri,*,*", SAT, (12, 0), False),
    ("22:00-06:00,*,*,*", TUE, (23, 30), True),          # ranges wrap past midnight
    ("22:00-06:00,*,*,*", TUE, (6, 0), True),
    ("22:00-06:00,*,*,*", TUE, (6, 1), False),
    ("*,fri-mon,*,*", SAT, (3, 0), True),                # weekday ranges are cyclic
    ("*,fri-mon,*,*", TUE, (3, 0), False),
    ("*,*,1&27,*", FRI, (0, 0), True),                   # '&' lists, days of month 1..31
    ("*,*,1&27,*", SAT, (0, 0), False),
    ("*,*,*,dec-feb", TUE, (0, 0), True),
    ("*,*,*,dec-feb", FRI, (0, 0), False),
    ("*|sat|*|nov", SAT, (0, 0), True),                  # '|' separates fields too
    ("12:00,*,*,*", FRI, (12, 0), True),                 # a single minute
    ("12:00,*,*,*", FRI, (12, 1), False),
    ("*,7,*,*", SAT, (0, 0), True),                      # weekdays by number, 1 = Sunday
])
def test_time_specs(spec, day, hm, open_):
    timing, warnings = build_timing(spec)
    assert warnings == []
    assert timing.check(datetime(*day, *hm)) is open_


def test_unreadable_items_are_skipped_with_asterisks_warning():
    _, warnings = build_timing("25:00&10:00,funday&mon,0,*")
    assert warnings == ["25:00 isn't a valid time.", "Invalid day of week 'funday', skipping element",
                        "Invalid day '0', skipping element"]


def test_time_zone_field():
    timing, warnings = build_timing("09:00-17:00,*,*,*,Europe/Paris")
    assert warnings == [] and timing.timezone == "Europe/Paris"
    # 08:30 UTC in November is 09:30 in Paris
    assert timing.check(datetime(2026, 11, 27, 8, 30, tzinfo=timezone.utc)) is True
    assert timing.check(datetime(2026, 11, 27, 7, 30, tzinfo=timezone.utc)) is False


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_includes_follow_the_clock_when_given_one(engine):
    dp = Dialplan.from_string("""[incoming]
include => office,09:00-17:00,mon-fri,*,*
include => night
[office]
exten => _6XXX,1,Dial(SIP/${EXTEN})
[night]
exten => _6XXX,1,VoiceMail(${EXTEN})
""")
    assert dp.find("6001", "incoming", engine=engine, when=datetime(*FRI, 10, 0)).context == "office"
    assert dp.find("6001", "incoming", engine=engine, when=datetime(*SAT, 10, 0)).context == "night"
    assert dp.find("6001", "incoming", engine=engine).context == "office"  # no clock: open
    assert dp.exists("6001", "incoming", engine=engine, when=datetime(*FRI, 20, 0)) is True


def test_bad_time_spec_is_a_warning_with_file_and_line():
    dp = Dialplan.from_string("[a]\ninclude => b,99:00,*,*,*\n[b]\n", "t.conf")
    assert [str(w) for w in dp.warnings] == ["t.conf:2: 99:00 isn't a valid time."]
