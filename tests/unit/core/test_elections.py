"""The pure election rules: the window as exact instants and the deadline in words, CONFIRM,
consequences, the higher-final-score rule, the screens' words, and the APM letter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openqpp.core.elections import (
    ApmLetterFacts,
    ElectionKind,
    ElectionSource,
    ExistingElection,
    FinalScoreCandidate,
    LetterRound,
    ScoreSource,
    Window,
    WindowState,
    apm_opt_in_letter,
    confirmed,
    consequences,
    included_in_benchmarks,
    participation_display,
    receives_payment_adjustment,
    score_for_payment_adjustment,
)
from openqpp.core.elections.texts import are_you_sure, options, reporting_requirement
from openqpp.core.eligibility import Criterion, Level, Status
from openqpp.policy import load_policy

UTC = dt.UTC
EST = dt.timezone(dt.timedelta(hours=-5))
EDT = dt.timezone(dt.timedelta(hours=-4))
W2019 = Window.for_policy(load_policy(2019))
W2022 = Window.for_policy(load_policy(2022))
SECOND = dt.timedelta(seconds=1)


def test_2019_opens_in_standard_time_and_closes_at_its_extension_in_daylight_time() -> None:
    assert W2019.opens == dt.datetime(2020, 1, 2, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert W2019.published_closes == dt.datetime(2020, 4, 1, 0, 0, tzinfo=UTC)  # 20:00 EDT
    assert W2019.closes == dt.datetime(2020, 5, 1, 0, 0, tzinfo=UTC)  # 20:00 EDT, extended
    assert W2019.extended
    assert W2019.opens.utcoffset() == dt.timedelta(hours=-5)
    assert W2019.closes.utcoffset() == dt.timedelta(hours=-4)
    assert W2019.describe() == (
        "January 2, 2020 at 10:00 AM ET to April 30, 2020 at 8:00 PM ET (extended from "
        "March 31, 2020 at 8:00 PM ET)"
    )


@pytest.mark.parametrize("window", [W2019, W2022], ids=["2019", "2022"])
def test_the_window_is_open_from_its_first_second_to_before_its_closing_instant(
    window: Window,
) -> None:
    assert window.state(window.opens - SECOND) is WindowState.NOT_OPEN_YET
    assert window.state(window.opens) is WindowState.OPEN
    assert window.state(window.closes - SECOND) is WindowState.OPEN
    assert window.state(window.closes) is WindowState.CLOSED
    local = window.local(window.closes - SECOND)
    assert (local.hour, local.minute, local.second) == (19, 59, 59)


def test_the_same_instant_in_any_offset_gives_the_same_answer() -> None:
    last = dt.datetime(2023, 3, 31, 19, 59, 59, tzinfo=EDT)
    assert W2022.is_open(last)
    assert W2022.is_open(last.astimezone(UTC))
    assert W2022.is_open(last.astimezone(dt.timezone(dt.timedelta(hours=9))))
    assert not W2022.is_open(dt.datetime(2023, 3, 31, 19, 0, 0, tzinfo=EST))  # 20:00 EDT


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        W2022.state(dt.datetime(2023, 3, 19, 20, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("now", "words"),
    [
        (dt.datetime(2023, 3, 19, 20, 0, tzinfo=EDT), "closes in 12 days, March 31 at 8:00 PM ET"),
        (dt.datetime(2023, 3, 1, 12, 0, tzinfo=EST), "closes in 30 days, March 31 at 8:00 PM ET"),
        (dt.datetime(2023, 3, 30, 9, 0, tzinfo=EDT), "closes tomorrow, March 31 at 8:00 PM ET"),
        (dt.datetime(2023, 3, 31, 17, 0, tzinfo=EDT), "closes today at 8:00 PM ET (in 3 hours)"),
        (
            dt.datetime(2023, 3, 31, 19, 35, tzinfo=EDT),
            "closes today at 8:00 PM ET (in 25 minutes)",
        ),
        (
            dt.datetime(2022, 12, 19, 12, 0, tzinfo=EST),
            "opens in 15 days, January 3, 2023 at 10:00 AM ET "
            "(closes March 31, 2023 at 8:00 PM ET)",
        ),
        (dt.datetime(2023, 4, 1, 0, 0, tzinfo=UTC), "closed on March 31, 2023 at 8:00 PM ET"),
    ],
)
def test_the_deadline_in_the_readers_words(now: dt.datetime, words: str) -> None:
    assert W2022.deadline(now) == words


def test_the_2019_deadline_counts_calendar_days_across_the_daylight_saving_change() -> None:
    # March 8, 2020 moved ET from UTC-5 to UTC-4; the count is in ET calendar days
    now = dt.datetime(2020, 3, 1, 20, 0, tzinfo=EST)
    assert W2019.deadline(now) == "closes in 60 days, April 30 at 8:00 PM ET"


@given(
    st.sampled_from(["CONFIRM", "confirm", "Confirm", "cOnFiRm"]),
    st.text(alphabet=" \t\n", max_size=3),
    st.text(alphabet=" \t\n", max_size=3),
)
def test_confirm_is_not_case_sensitive(word: str, before: str, after: str) -> None:
    assert confirmed(before + word + after)


@given(st.text(max_size=20))
def test_only_confirm_confirms(text: str) -> None:
    assert confirmed(text) is (text.strip().casefold() == "confirm")


def test_the_consequences_of_each_election_per_year() -> None:
    opt_in = consequences(ElectionKind.OPT_IN, load_policy(2019))
    assert (opt_in.payment_year, opt_in.payment_adjustment, opt_in.adjustment_without_data) == (
        2021,
        True,
        True,
    )
    assert opt_in.included_in_benchmarks
    assert opt_in.publicly_reported
    assert not opt_in.may_opt_out_of_public_reporting
    voluntary = consequences(ElectionKind.VOLUNTARY, load_policy(2022))
    assert voluntary.payment_year == 2024
    assert not voluntary.payment_adjustment
    assert voluntary.performance_feedback
    assert not voluntary.included_in_benchmarks
    assert voluntary.may_opt_out_of_public_reporting
    assert "You will not receive a 2024 payment adjustment." in voluntary.points


def test_who_gets_a_payment_adjustment_and_joins_the_benchmarks() -> None:
    opt_in = ExistingElection(ElectionKind.OPT_IN, ElectionSource.ELECTION, None)
    voluntary = ExistingElection(ElectionKind.VOLUNTARY, ElectionSource.ELECTION, None)
    assert receives_payment_adjustment(None, Status.ELIGIBLE)
    assert receives_payment_adjustment(opt_in, Status.OPT_IN_ELIGIBLE)
    assert not receives_payment_adjustment(None, Status.OPT_IN_ELIGIBLE)
    assert not receives_payment_adjustment(voluntary, Status.OPT_IN_ELIGIBLE)
    assert not included_in_benchmarks(voluntary, Status.OPT_IN_ELIGIBLE)
    assert included_in_benchmarks(opt_in, Status.OPT_IN_ELIGIBLE)


def test_a_clinician_opted_in_as_an_individual_and_with_the_group_gets_the_higher_score() -> None:
    chosen = score_for_payment_adjustment(
        [
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("62.5")),
            FinalScoreCandidate(ScoreSource.GROUP, Decimal("81.2")),
        ]
    )
    assert chosen is not None
    assert (chosen.source, chosen.final_score) == (ScoreSource.GROUP, Decimal("81.2"))
    assert "higher final score" in chosen.explanation
    individual = score_for_payment_adjustment(
        [
            FinalScoreCandidate(ScoreSource.GROUP, Decimal("70")),
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("90")),
        ]
    )
    assert individual is not None
    assert individual.source is ScoreSource.INDIVIDUAL


def test_a_tie_names_the_individual_and_voluntary_scores_never_count() -> None:
    tie = score_for_payment_adjustment(
        [
            FinalScoreCandidate(ScoreSource.GROUP, Decimal("75")),
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("75")),
        ]
    )
    assert tie is not None
    assert tie.source is ScoreSource.INDIVIDUAL
    voluntary_higher = score_for_payment_adjustment(
        [
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("95"), counts_for_adjustment=False),
            FinalScoreCandidate(ScoreSource.GROUP, Decimal("40")),
        ]
    )
    assert voluntary_higher is not None
    assert voluntary_higher.source is ScoreSource.GROUP
    assert "voluntary reporting do not count" in voluntary_higher.explanation
    assert (
        score_for_payment_adjustment(
            [FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("95"), False)]
        )
        is None
    )


def test_virtual_group_participation_decides_when_there_is_one() -> None:
    chosen = score_for_payment_adjustment(
        [
            FinalScoreCandidate(ScoreSource.INDIVIDUAL, Decimal("90")),
            FinalScoreCandidate(ScoreSource.VIRTUAL_GROUP, Decimal("60")),
        ]
    )
    assert chosen is not None
    assert chosen.source is ScoreSource.VIRTUAL_GROUP


def test_the_screens_words_carry_the_year_and_payment_year() -> None:
    opt_in, voluntary = options(Level.GROUP, 2019, app_voluntary_allowed=False)
    assert opt_in.heading == "Elect to Opt-In"
    assert opt_in.text.startswith(
        "By electing to Opt-In, you become MIPS eligible. You will receive a MIPS final score "
        "and a payment adjustment in 2021."
    )
    assert voluntary.heading == "Choose to Report Voluntarily"
    assert "You will not receive a payment adjustment in 2021." in voluntary.text
    assert voluntary.text.endswith("You can't voluntarily report the APP.")
    assert are_you_sure(ElectionKind.OPT_IN, "Greenville Podiatry", 2019) == (
        "By opting-in, Greenville Podiatry will become MIPS eligible for the 2019 performance "
        "year and will receive a final score and 2021 payment adjustment based on any data "
        "submitted or not submitted. This election is permanent and cannot be changed later."
    )


def test_the_status_line_after_an_election() -> None:
    opt_in = ExistingElection(ElectionKind.OPT_IN, ElectionSource.VIRTUAL_GROUP, None, "VG-1")
    voluntary = ExistingElection(ElectionKind.VOLUNTARY, ElectionSource.ELECTION, None)
    assert participation_display(Status.OPT_IN_ELIGIBLE, opt_in) == "MIPS eligible via opt-in"
    assert participation_display(Status.OPT_IN_ELIGIBLE, voluntary) == (
        "MIPS exempt · Reporting voluntarily"
    )
    assert participation_display(Status.OPT_IN_ELIGIBLE, None) == "MIPS EXEMPT · Opt-in eligible"


def test_the_reporting_requirement_beside_a_clinician() -> None:
    text = reporting_requirement(Status.OPT_IN_ELIGIBLE, None, Status.ELIGIBLE, None)
    assert text.startswith("This clinician is not required to report because they do not exceed")
    assert "they can opt-in to report as an individual" in text
    assert "because the practice exceeds the low-volume threshold" in text
    opted = ExistingElection(ElectionKind.OPT_IN, ElectionSource.ELECTION, None)
    assert reporting_requirement(Status.OPT_IN_ELIGIBLE, opted, None, None).startswith(
        "This clinician opted in as an individual"
    )


def test_election_kinds_parse_what_people_type() -> None:
    assert ElectionKind.parse("Opt-In") is ElectionKind.OPT_IN
    assert ElectionKind.parse("report voluntarily") is ElectionKind.VOLUNTARY
    assert ElectionKind.parse("maybe") is None


def test_the_apm_letter_reads_the_years_threshold_from_policy() -> None:
    facts = ApmLetterFacts(
        apm_entity_id="A1234",
        entity_name="Sunshine ACO",
        apm_name="Medicare Shared Savings Program",
        advanced_apm=True,
        mips_apm=True,
        beneficiaries=150,
        allowed_charges=Decimal("90300"),
        covered_services=234,
        exceeded=(Criterion.ALLOWED_CHARGES, Criterion.COVERED_SERVICES),
        participants=3,
    )
    text = " ".join(
        apm_opt_in_letter(
            facts,
            policy=load_policy(2019),
            letter_round=LetterRound.SEPTEMBER,
            return_to="optin@example.org",
        ).split()
    )
    assert "Dear Sunshine ACO," in text
    assert "is an Advanced Alternative Payment Model (Advanced APM) and a MIPS APM" in text
    assert "APM Incentive Payment" in text
    assert "$90,300 in allowed charges, 234 covered services (above the threshold)" in text
    assert "150 Part B patients (at or below the threshold)" in text
    assert "optin@example.org by April 30, 2020 at 8:00 PM ET" in text
