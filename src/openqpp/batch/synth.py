"""Synthetic Medicare Part B claims in the batch contract's layout, for tests and benchmarks.

:func:`synthesize` writes every input table of ``docs/batch-contract.md`` as Parquet. The data is
made up but shaped like the real thing, so that the determination has something to decide:

* practice sizes are skewed (Zipf): many solo and small TINs, a few very large ones;
* about one clinician in eight also bills under a second (sometimes a third) TIN, and some of
  those TIN/NPIs start during segment 2 or stop during segment 1;
* beneficiaries are shared: each TIN/NPI draws its patients from a panel that overlaps the
  panels of the other clinicians of its practice;
* a share of TIN/NPIs lands near each low-volume criterion (about $90,000 of allowed charges and
  about 200 beneficiaries and 200 covered services per segment);
* non-patient-facing specialties (pathology, diagnostic radiology), hospital, ASC and mixed
  places of service, facility CCNs with Hospital VBP scores, rural and HPSA locations;
* APM entities with participation snapshots, QPs and Partial QPs, virtual groups of small TINs;
* newly enrolled clinicians and clinician types that are not MIPS eligible in some years;
* lines spread over both segments (and a few after segment 2), processed a few days to about
  two months after the date of service, so the claims run-out matters.

Generation is vectorised (numpy, pyarrow) and chunked: claim lines are produced in chunks of
:data:`CHUNK_LINES`, each from its own random stream derived from the seed, and written as
``claim_lines/part-NNNNN.parquet`` by a pool of threads. The same seed gives byte-identical
files whatever the number of threads.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from openqpp.policy import load_policy

CHUNK_LINES: Final = 1_000_000
ROW_GROUP_LINES: Final = 250_000
EPOCH: Final = dt.date(1970, 1, 1)

NDArray = np.ndarray[Any, Any]

# ------------------------------------------------------------------ reference tables

# Places of service used by the generator, and per-setting probabilities over them.
POS_CODES: Final = ("11", "21", "22", "23", "24", "19", "02", "10", "12", "31", "81")
FACILITY_POS: Final = frozenset({"21", "23"})
SETTINGS: Final = ("office", "hospital", "asc", "mixed", "lab", "nursing")
_SETTING_POS: Final = {
    "office": {"11": 0.86, "02": 0.03, "10": 0.03, "22": 0.03, "21": 0.03, "12": 0.02},
    "hospital": {"21": 0.55, "23": 0.20, "22": 0.15, "19": 0.05, "11": 0.05},
    "asc": {"24": 0.80, "11": 0.12, "22": 0.08},
    "mixed": {"11": 0.45, "21": 0.25, "22": 0.10, "23": 0.05, "24": 0.05, "02": 0.05, "31": 0.05},
    "lab": {"81": 0.40, "21": 0.30, "22": 0.20, "11": 0.10},
    "nursing": {"31": 0.70, "11": 0.20, "12": 0.10},
}

# HCPCS pools (covered professional services) by kind of practice, and Part B drugs (not
# covered professional services under the PFS).
_HCPCS_POOLS: Final = {
    "em": ("99213", "99214", "99212", "99215", "99203", "99204", "99396", "G0439"),
    "hosp": ("99223", "99232", "99233", "99285", "99284", "99291", "99238", "99222"),
    "surg": ("27447", "29881", "66984", "45378", "43239", "99214", "99213", "20610"),
    "rad": ("71046", "74177", "70450", "77067", "72148", "76700", "71250", "73721"),
    "path": ("88305", "88342", "88312", "88307", "88341", "88360", "88304", "88331"),
    "anes": ("00790", "00840", "01402", "00142", "00731", "01480", "00400", "00810"),
    "therapy": ("97110", "97140", "97530", "97112", "97161", "97162", "92507", "92557"),
    "psych": ("90834", "90837", "90791", "90832", "96130", "90847", "97802", "97803"),
}
_DRUG_HCPCS: Final = ("J9271", "J0178", "J2778", "J1100", "J3420", "J0897", "J9035", "J1745")
# Both lists have 8 codes so one draw picks from either.
HCPCS_CODES: Final = tuple(
    dict.fromkeys([c for pool in _HCPCS_POOLS.values() for c in pool] + list(_DRUG_HCPCS))
)


@dataclass(frozen=True, slots=True)
class _Specialty:
    code: str
    share: float
    pool: str
    settings: dict[str, float]
    amount: float = 1.0
    """Relative allowed amount per line."""
    patient_facing: bool = True
    covered: float = 0.94
    """Share of lines that are covered professional services (the rest are Part B drugs)."""


_PHYSICIAN_SPECIALTIES: Final = (
    _Specialty("08", 0.16, "em", {"office": 0.9, "mixed": 0.1}),
    _Specialty("11", 0.14, "em", {"office": 0.5, "mixed": 0.25, "hospital": 0.25}),
    _Specialty("06", 0.05, "em", {"office": 0.5, "mixed": 0.5}, amount=1.5),
    _Specialty("93", 0.07, "hosp", {"hospital": 1.0}, amount=1.3),
    _Specialty("05", 0.07, "anes", {"hospital": 0.7, "asc": 0.3}, amount=1.6),
    _Specialty("30", 0.06, "rad", {"hospital": 0.6, "office": 0.4}, 0.6, patient_facing=False),
    _Specialty("22", 0.03, "path", {"lab": 1.0}, 0.5, patient_facing=False),
    _Specialty("20", 0.05, "surg", {"mixed": 0.5, "asc": 0.3, "office": 0.2}, amount=2.0),
    _Specialty("02", 0.04, "surg", {"hospital": 0.7, "mixed": 0.3}, amount=2.0),
    _Specialty("18", 0.04, "surg", {"asc": 0.6, "office": 0.4}, amount=1.8),
    _Specialty("10", 0.03, "surg", {"asc": 0.7, "hospital": 0.3}, amount=1.7),
    _Specialty("48", 0.03, "em", {"office": 0.9, "nursing": 0.1}, amount=0.9),
    _Specialty("41", 0.03, "em", {"office": 1.0}, amount=0.8),
    _Specialty("35", 0.04, "therapy", {"office": 1.0}, amount=0.5),
    _Specialty("13", 0.03, "em", {"office": 0.8, "hospital": 0.2}, amount=1.1),
    _Specialty("26", 0.03, "psych", {"office": 0.8, "nursing": 0.2}),
    _Specialty("07", 0.04, "em", {"office": 1.0}, amount=1.2),
    _Specialty("90", 0.02, "em", {"office": 0.8, "hospital": 0.2}, amount=2.5, covered=0.55),
    _Specialty("38", 0.01, "em", {"nursing": 0.6, "office": 0.4}),
)

# (clinician type, share of clinicians, specialties). Types that are not MIPS eligible in some
# or all years are included on purpose (see policy eligibility.eligible_clinician_types).
_CLINICIAN_TYPES: Final[tuple[tuple[str, float, tuple[_Specialty, ...]], ...]] = (
    ("physician", 0.58, _PHYSICIAN_SPECIALTIES),
    ("nurse_practitioner", 0.13, (_Specialty("50", 1, "em", {"office": 0.7, "mixed": 0.3}),)),
    ("physician_assistant", 0.08, (_Specialty("97", 1, "em", {"office": 0.6, "mixed": 0.4}),)),
    (
        "certified_registered_nurse_anesthetist",
        0.03,
        (_Specialty("43", 1, "anes", {"hospital": 0.7, "asc": 0.3}, amount=1.2),),
    ),
    ("clinical_nurse_specialist", 0.005, (_Specialty("89", 1, "em", {"mixed": 1.0}),)),
    ("physical_therapist", 0.05, (_Specialty("65", 1, "therapy", {"office": 1.0}, 0.45),)),
    ("occupational_therapist", 0.01, (_Specialty("67", 1, "therapy", {"office": 1.0}, 0.45),)),
    (
        "speech_language_pathologist",
        0.005,
        (_Specialty("15", 1, "therapy", {"office": 0.7, "nursing": 0.3}, 0.5),),
    ),
    ("audiologist", 0.003, (_Specialty("64", 1, "therapy", {"office": 1.0}, 0.5),)),
    ("clinical_psychologist", 0.02, (_Specialty("68", 1, "psych", {"office": 1.0}, 0.8),)),
    ("registered_dietitian", 0.004, (_Specialty("71", 1, "psych", {"office": 1.0}, 0.3),)),
    ("clinical_social_worker", 0.04, (_Specialty("80", 1, "psych", {"office": 1.0}, 0.6),)),
    ("certified_nurse_midwife", 0.004, (_Specialty("42", 1, "em", {"office": 1.0}, 0.9),)),
    # Medicare-enrolled types that are never MIPS eligible (placeholder specialty codes).
    ("marriage_and_family_therapist", 0.01, (_Specialty("E1", 1, "psych", {"office": 1.0}, 0.6),)),
    ("mental_health_counselor", 0.01, (_Specialty("E2", 1, "psych", {"office": 1.0}, 0.6),)),
    ("anesthesiologist_assistant", 0.004, (_Specialty("E3", 1, "anes", {"hospital": 1.0}),)),
)

_APM_MODELS: Final = (
    # (model, mips_apm, advanced_apm, weight)
    ("Medicare Shared Savings Program - BASIC", True, False, 0.40),
    ("Medicare Shared Savings Program - ENHANCED", True, True, 0.25),
    ("Primary Care First", True, True, 0.10),
    ("BPCI Advanced", True, True, 0.10),
    ("Kidney Care Choices", True, True, 0.05),
    ("ACO REACH", True, True, 0.07),
    ("Maryland Total Cost of Care", False, True, 0.03),
)

_FIRST_NAMES: Final = (
    "Maria", "James", "Aisha", "Wei", "Robert", "Priya", "Daniel", "Fatima", "Michael", "Elena",
    "David", "Grace", "Carlos", "Hannah", "Ahmed", "Laura", "Kenji", "Sofia", "Thomas", "Nadia",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Garcia", "Smith", "Nguyen", "Johnson", "Patel", "Williams", "Brown", "Kim", "Jones", "Lopez",
    "Miller", "Davis", "Chen", "Wilson", "Okafor", "Martinez", "Anderson", "Singh", "Cohen",
)  # fmt: skip

# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class SyntheticClaims:
    """What :func:`synthesize` wrote."""

    out_dir: Path
    year: int
    seed: int
    lines: int
    clinicians: int
    tins: int
    tin_npis: int
    claim_files: int


# ------------------------------------------------------------------ helpers


def _days(day: dt.date) -> int:
    return (day - EPOCH).days


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _unique_numbers(rng: np.random.Generator, n: int, low: int, high: int) -> NDArray:
    """``n`` distinct integers in [low, high), in random order."""
    span = high - low
    gap = max(1, span // max(n, 1))
    values = low + np.cumsum(rng.integers(1, gap + 1, size=n, dtype=np.int64))
    values = values[values < high]
    if len(values) < n:  # pragma: no cover - only for absurd sizes
        raise ValueError(f"cannot draw {n} distinct numbers from [{low}, {high})")
    rng.shuffle(values)
    return values


def _digit_strings(values: NDArray, width: int, prefix: str = "") -> pa.Array:
    text = pc.utf8_lpad(pa.array(values, pa.int64()).cast(pa.string()), width, "0")
    if prefix:
        text = pc.binary_join_element_wise(prefix, text, "")
    return text


def npi_numbers(stems: NDArray) -> NDArray:
    """10-digit NPIs (as integers) from 9-digit stems: the Luhn check digit over prefix 80840."""
    stems = np.asarray(stems, dtype=np.int64)
    # The prefix 80840 contributes a constant 24 to the Luhn sum (a published NPI rule).
    total = np.full(stems.shape, 24, dtype=np.int64)
    rest = stems.copy()
    for position in range(9):  # position 0 is the stem's last digit, doubled
        digit = rest % 10
        rest //= 10
        if position % 2 == 0:
            digit = digit * 2
            digit = np.where(digit > 9, digit - 9, digit)
        total += digit
    check = (10 - total % 10) % 10
    return stems * 10 + check


def _choice(rng: np.random.Generator, n: int, weights: NDArray) -> NDArray:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    cumulative /= cumulative[-1]
    return np.searchsorted(cumulative, rng.random(n), side="right").clip(0, len(weights) - 1)


def _decimal_cents(cents: NDArray, precision: int = 12) -> pa.Array:
    """A decimal128(precision, 2) array from non-negative int64 cents, without Python objects."""
    words = np.zeros((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    return pa.Array.from_buffers(
        pa.decimal128(precision, 2), len(cents), [None, pa.py_buffer(words.tobytes())]
    )


def _dates(days: NDArray) -> pa.Array:
    return pa.array(np.asarray(days, dtype=np.int32), pa.int32()).view(pa.date32())


def _dictionary(indices: NDArray, dictionary: pa.Array, mask: NDArray | None = None) -> pa.Array:
    """``dictionary[indices]`` as a plain string array (null where ``mask``); the Parquet writer
    dictionary-encodes it again, faster than writing a large Arrow dictionary."""
    idx = pa.array(np.asarray(indices, dtype=np.int32), pa.int32(), mask=mask)
    return dictionary.take(idx)


_NOT_DICTIONARY: Final = frozenset({"claim_id", "beneficiary_id"})
"""Columns with (nearly) unique values per row group: dictionary encoding would only fall back."""


def _write(table: pa.Table, path: Path) -> None:
    names = table.column_names
    pq.write_table(
        table,
        path,
        row_group_size=ROW_GROUP_LINES,
        compression="snappy",
        store_schema=False,
        store_decimal_as_integer=True,
        use_dictionary=[c for c in names if c not in _NOT_DICTIONARY],
        write_statistics=True,  # as every writer does by default; null counts come free
    )


# ------------------------------------------------------------------ the population


@dataclass(slots=True)
class _Population:
    """Everything a claim-line chunk needs, as flat numpy arrays indexed by TIN/NPI pair."""

    seed: int
    tin_text: pa.Array
    npi_text: pa.Array
    bene_text: pa.Array
    ccn_text: pa.Array
    pair_tin: NDArray
    pair_npi: NDArray
    pair_setting: NDArray
    pair_pool: NDArray
    pair_amount_mu: NDArray
    pair_covered: NDArray
    pair_facing: NDArray
    pair_hospital: NDArray
    pair_panel_start: NDArray
    pair_panel_size: NDArray
    pair_claim_p: NDArray
    slot_cumulative: NDArray
    slot_start: NDArray
    slot_end: NDArray
    n_beneficiaries: int


def _practice_sizes(rng: np.random.Generator, clinicians: int) -> NDArray:
    """Skewed practice sizes (Zipf, a=1.9) summing to ``clinicians``: many solo, few huge."""
    cap = max(1, min(5000, clinicians // 20))
    sizes: list[NDArray] = []
    total = 0
    while total < clinicians:
        draw = rng.zipf(1.9, size=max(64, clinicians // 3))
        draw = draw[draw <= cap]
        sizes.append(draw)
        total += int(draw.sum())
    flat = np.concatenate(sizes)
    cut = int(np.searchsorted(np.cumsum(flat), clinicians))
    flat = flat[: cut + 1].copy()
    flat[-1] -= int(flat.sum()) - clinicians
    return flat[flat > 0]


def _practice_sizes_for(rng: np.random.Generator, clinicians: int, tins: int) -> NDArray:
    """Exactly ``tins`` skewed practice sizes summing to ``clinicians``: the truncated Zipf law of
    :func:`_practice_sizes` with its exponent chosen so that its mean is ``clinicians / tins``,
    then one clinician at a time added to (or taken from) practices until the total is exact."""
    cap = max(1, min(5000, clinicians // 20))
    k = np.arange(1, cap + 1, dtype=np.float64)
    wanted = clinicians / tins
    low, high = 1.0001, 8.0
    weights = k**-high
    for _ in range(60):  # the truncated law's mean falls as the exponent rises
        exponent = (low + high) / 2
        weights = k**-exponent
        if (k * weights).sum() / weights.sum() > wanted:
            low = exponent
        else:
            high = exponent
    sizes = 1 + _choice(rng, tins, weights)
    missing = clinicians - int(sizes.sum())
    while missing:
        if missing > 0:  # larger practices grow more, keeping the skew
            np.add.at(sizes, _choice(rng, missing, sizes.astype(np.float64)), 1)
        else:
            room = (sizes - 1).astype(np.float64)
            np.subtract.at(sizes, _choice(rng, min(-missing, int(room.sum())), room), 1)
            sizes = np.maximum(sizes, 1)
        missing = clinicians - int(sizes.sum())
    return sizes


def _build(
    *,
    clinicians: int,
    lines: int,
    year: int,
    seed: int,
    tins: int | None = None,
    near_threshold: float | None = None,
) -> tuple[_Population, dict[str, pa.Table]]:
    policy = load_policy(year)
    seg1, seg2 = policy.eligibility.determination_period.segments[:2]
    rng = _rng(seed, 1)

    # Practices and clinicians.
    if tins is None:
        sizes = _practice_sizes(rng, clinicians)
    else:
        sizes = _practice_sizes_for(rng, clinicians, tins)
    n_tins = len(sizes)
    primary_tin = np.repeat(np.arange(n_tins), sizes)
    rng.shuffle(primary_tin)
    tin_text = _digit_strings(_unique_numbers(rng, n_tins, 10_000_000, 999_999_999), 9)
    npi_text = _digit_strings(
        npi_numbers(_unique_numbers(rng, clinicians, 100_000_000, 299_999_999)), 10
    )

    type_shares = np.array([t[1] for t in _CLINICIAN_TYPES])
    clin_type = _choice(rng, clinicians, type_shares)
    specialties: list[_Specialty] = []
    type_first_specialty: list[int] = []
    for _, _, specs in _CLINICIAN_TYPES:
        type_first_specialty.append(len(specialties))
        specialties.extend(specs)
    clin_spec = np.empty(clinicians, dtype=np.int64)
    for t, (_, _, specs) in enumerate(_CLINICIAN_TYPES):
        members = np.flatnonzero(clin_type == t)
        local = _choice(rng, len(members), np.array([s.share for s in specs]))
        clin_spec[members] = type_first_specialty[t] + local

    # Enrolment: most long ago; a few during the year before, a few newly enrolled in the PY.
    py_start, py_end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    long_ago = _days(dt.date(year - 40, 1, 1))
    enrolled = rng.integers(long_ago, _days(seg1.start) - 30, size=clinicians)
    recent = rng.random(clinicians)
    last_year = recent < 0.04
    enrolled[last_year] = rng.integers(_days(seg1.start), _days(seg2.start), size=last_year.sum())
    newly = (recent >= 0.04) & (recent < 0.07)
    enrolled[newly] = rng.integers(_days(py_start), _days(seg2.end) - 60, size=newly.sum())

    # TIN/NPI pairs: every clinician's primary TIN, ~12% a second TIN, ~2% a third.
    second = np.flatnonzero(rng.random(clinicians) < 0.12)
    third = second[rng.random(len(second)) < 0.15]
    tin_weight = sizes.astype(np.float64) ** 0.5
    extra_npi = np.concatenate([second, third])
    extra_tin = _choice(rng, len(extra_npi), tin_weight)
    pair_npi = np.concatenate([np.arange(clinicians), extra_npi])
    pair_tin = np.concatenate([primary_tin, extra_tin])
    keep = np.ones(len(pair_npi), dtype=bool)
    keep[clinicians:] = extra_tin != primary_tin[extra_npi]
    pair_npi, pair_tin = pair_npi[keep], pair_tin[keep]
    _, first = np.unique(pair_tin.astype(np.int64) * clinicians + pair_npi, return_index=True)
    first.sort()
    pair_npi, pair_tin = pair_npi[first], pair_tin[first]
    n_pairs = len(pair_npi)
    is_extra = np.arange(n_pairs) >= clinicians

    # Activity windows per pair: from enrolment; some extra pairs start in segment 2 (a new
    # TIN/NPI), some stop in segment 1; a few whole TINs are new in segment 2.
    active_from = enrolled[pair_npi].astype(np.int64)
    active_to = np.full(n_pairs, _days(py_end), dtype=np.int64)
    roll = rng.random(n_pairs)
    joins = is_extra & (roll < 0.25)
    active_from[joins] = np.maximum(
        active_from[joins], rng.integers(_days(seg2.start), _days(seg2.end), size=joins.sum())
    )
    leaves = is_extra & (roll >= 0.25) & (roll < 0.40)
    active_to[leaves] = rng.integers(_days(seg1.start) + 60, _days(seg1.end), size=leaves.sum())
    new_tins = rng.random(n_tins) < 0.02
    late = new_tins[pair_tin]
    active_from[late] = np.maximum(active_from[late], _days(seg2.start) + 45)

    slot_bounds = np.array(
        [
            [_days(seg1.start), _days(seg1.end)],
            [_days(seg2.start), _days(seg2.end)],
            [_days(seg2.end) + 1, _days(py_end)],
        ]
    )
    start = np.maximum(active_from[:, None], slot_bounds[None, :, 0])
    end = np.minimum(active_to[:, None], slot_bounds[None, :, 1])
    span = (slot_bounds[:, 1] - slot_bounds[:, 0] + 1).astype(np.float64)
    fraction = np.clip((end - start + 1) / span[None, :], 0.0, 1.0)
    start = np.where(fraction > 0, start, slot_bounds[None, :, 0])
    end = np.where(fraction > 0, end, slot_bounds[None, :, 1])

    # Volumes: a share of pairs near the low-volume criteria, the rest lognormal.
    spec_amount = np.array([s.amount for s in specialties])[clin_spec[pair_npi]]
    spec_covered = np.array([s.covered for s in specialties])[clin_spec[pair_npi]]
    lines_in = lines * 0.99
    # Near-threshold TIN/NPIs see most patients once (claims of ~1.1 lines), so that covered
    # services, beneficiaries and charges all land around the criteria.
    target = rng.uniform(190, 300, size=n_pairs)
    if near_threshold is None:
        share_near = min(0.15, 0.35 * lines_in / max(1.0, n_pairs * 2 * 245))
    else:
        share_near = near_threshold
    near = rng.random(n_pairs) < share_near
    expected = np.zeros((n_pairs, 3))
    expected[near, :2] = target[near, None] * fraction[near, :2]
    budget = lines_in - expected.sum()
    if budget < 0.1 * lines_in:
        raise ValueError(
            f"{lines:,} claim lines are too few for near_threshold={share_near}: the "
            f"{int(near.sum()):,} TIN/NPIs near the criteria alone need about "
            f"{expected.sum():,.0f}; give at least {expected.sum() / 0.89:,.0f} lines or a "
            "smaller near_threshold"
        )
    weight = rng.lognormal(0.0, 1.3, size=n_pairs) * np.where(is_extra, 0.35, 1.0)
    weight[near] = 0.0
    regular = weight[:, None] * fraction[:, :2]
    expected[:, :2] += regular * (budget / max(regular.sum(), 1e-9))
    expected[:, 2] = expected[:, 1] * fraction[:, 2] * (lines * 0.01 / max(expected[:, 1].sum(), 1))
    per_segment = np.maximum(expected[:, :2].max(axis=1), 1.0)

    amount_mean = 95.0 * spec_amount * rng.lognormal(-0.06, 0.35, size=n_pairs)
    amount_mean[near] = (
        90_000.0 * rng.uniform(0.8, 1.25, size=near.sum()) / (target[near] * spec_covered[near])
    )
    sigma = 0.7
    amount_mu = np.log(amount_mean) - sigma * sigma / 2

    # Beneficiaries: panels that overlap within a practice.
    n_benes = max(200, lines // 40)
    tin_base = rng.integers(0, n_benes, size=n_tins)
    claim_p = np.where(near, 0.9, 0.6)  # geometric lines per claim: mean 1.1 or 1.7
    claims = per_segment * claim_p
    panel = np.maximum(1, np.round(claims * rng.uniform(0.35, 0.9, size=n_pairs)))
    panel[near] = np.round(claims[near] * rng.uniform(3.0, 6.0, size=near.sum()))
    panel = np.minimum(panel, n_benes).astype(np.int64)
    panel_start = (tin_base[pair_tin] + rng.integers(0, 2 * panel + 1)) % n_benes
    bene_numbers = (np.arange(n_benes, dtype=np.int64) * 2_654_435_761 + 7_919) % 10**10
    bene_text = _digit_strings(bene_numbers, 10, prefix="B")

    # Settings, hospitals and facility scores.
    setting_index = {name: i for i, name in enumerate(SETTINGS)}
    spec_settings = np.zeros((len(specialties), len(SETTINGS)))
    for s, spec in enumerate(specialties):
        for name, share in spec.settings.items():
            spec_settings[s, setting_index[name]] = share
    pair_spec = clin_spec[pair_npi]
    cumulative_settings = np.cumsum(spec_settings, axis=1)
    cumulative_settings /= cumulative_settings[:, -1:]
    pair_setting = (rng.random(n_pairs)[:, None] > cumulative_settings[pair_spec]).sum(axis=1)
    pools = list(_HCPCS_POOLS)
    pair_pool = np.array([pools.index(s.pool) for s in specialties])[pair_spec]
    pair_facing = np.array([s.patient_facing for s in specialties])[pair_spec]

    n_hospitals = max(5, n_pairs // 300)
    ccn_numbers = _unique_numbers(rng, n_hospitals, 10_000, 559_999)
    ccn_text = _digit_strings(ccn_numbers, 6)
    tin_hospital = rng.integers(0, n_hospitals, size=n_tins)
    pair_hospital = np.where(
        rng.random(n_pairs) < 0.8, tin_hospital[pair_tin], rng.integers(0, n_hospitals, n_pairs)
    )
    scored = rng.random(n_hospitals) < 0.9
    facility_scores = pa.table(
        {
            "ccn": ccn_text.filter(pa.array(scored)),
            "hospital_name": pa.array(
                [f"General Hospital {i + 1}" for i in np.flatnonzero(scored)], pa.string()
            ),
            "vbp_score": pa.array(np.round(rng.uniform(8.0, 72.0, size=scored.sum()), 3)),
        }
    )

    # Claim slot sampling: (pair, slot) flattened, weight = expected lines.
    slot_weight = (expected * claim_p[:, None]).reshape(-1)  # claims, not lines
    slot_cumulative = np.cumsum(slot_weight)

    population = _Population(
        seed=seed,
        tin_text=tin_text,
        npi_text=npi_text,
        bene_text=bene_text,
        ccn_text=ccn_text,
        pair_tin=pair_tin.astype(np.int32),
        pair_npi=pair_npi.astype(np.int32),
        pair_setting=pair_setting.astype(np.int8),
        pair_pool=pair_pool.astype(np.int8),
        pair_amount_mu=amount_mu,
        pair_covered=spec_covered,
        pair_facing=pair_facing,
        pair_hospital=pair_hospital.astype(np.int32),
        pair_panel_start=panel_start,
        pair_panel_size=panel,
        pair_claim_p=claim_p,
        slot_cumulative=slot_cumulative / slot_cumulative[-1],
        slot_start=start.reshape(-1),
        slot_end=end.reshape(-1),
        n_beneficiaries=n_benes,
    )

    # ---- the small tables
    clinicians_table = pa.table(
        {
            "npi": npi_text,
            "clinician_type": pa.array([t[0] for t in _CLINICIAN_TYPES])
            .take(pa.array(clin_type))
            .cast(pa.string()),
            "specialty_code": pa.array([s.code for s in specialties]).take(pa.array(clin_spec)),
            "first_enrolled": _dates(enrolled),
            "first_name": pa.array(_FIRST_NAMES).take(
                pa.array(rng.integers(0, len(_FIRST_NAMES), clinicians))
            ),
            "last_name": pa.array(_LAST_NAMES).take(
                pa.array(rng.integers(0, len(_LAST_NAMES), clinicians))
            ),
        }
    )

    # Practice locations: one TIN-wide location each, some per-clinician sites for larger TINs.
    rural_tin = rng.random(n_tins) < 0.18
    hpsa_tin = np.where(rural_tin, rng.random(n_tins) < 0.45, rng.random(n_tins) < 0.06)
    zip5 = rng.integers(1_000, 99_950, size=n_tins)
    site_pairs = np.flatnonzero((sizes[pair_tin] > 5) & (rng.random(n_pairs) < 0.3))
    site_rural = rng.random(len(site_pairs)) < 0.25
    loc_tin = np.concatenate([np.arange(n_tins), pair_tin[site_pairs]])
    loc_zip = np.concatenate([zip5, (zip5[pair_tin[site_pairs]] + 7) % 99_950])
    long_zip = rng.random(len(loc_zip)) < 0.1
    zip_text = pc.if_else(
        pa.array(long_zip),
        _digit_strings(loc_zip * 10_000 + rng.integers(0, 10_000, len(loc_zip)), 9),
        _digit_strings(loc_zip, 5),
    )
    locations = pa.table(
        {
            "tin": tin_text.take(pa.array(loc_tin)),
            "npi": pa.concat_arrays(
                [
                    pa.nulls(n_tins, pa.string()),
                    npi_text.take(pa.array(pair_npi[site_pairs])),
                ]
            ),
            "zip": zip_text,
            "rural": pa.array(np.concatenate([rural_tin, site_rural])),
            "hpsa": pa.array(
                np.concatenate([hpsa_tin, site_rural & (rng.random(len(site_pairs)) < 0.4)])
            ),
        }
    )

    apm_table, qp_table = _apm_tables(rng, year, n_tins, pair_tin, pair_npi, tin_text, npi_text)

    # Virtual groups: 2-5 TINs with at most 10 clinicians each.
    small = np.flatnonzero(sizes <= 10)
    n_vg = max(2, n_tins // 2000)
    vg_sizes = rng.integers(2, 6, size=n_vg)
    chosen = rng.permutation(small)[: int(vg_sizes.sum())]
    vg_ids = np.repeat(np.arange(n_vg), vg_sizes)[: len(chosen)]
    virtual_groups = pa.table(
        {
            "virtual_group_id": _digit_strings(vg_ids + 1, 4, prefix="VG-"),
            "tin": tin_text.take(pa.array(chosen)),
        }
    )

    tables = {
        "clinicians": clinicians_table,
        "practice_locations": locations,
        "apm_participation": apm_table,
        "qp_status": qp_table,
        "virtual_groups": virtual_groups,
        "facility_scores": facility_scores,
    }
    return population, tables


def _apm_tables(
    rng: np.random.Generator,
    year: int,
    n_tins: int,
    pair_tin: NDArray,
    pair_npi: NDArray,
    tin_text: pa.Array,
    npi_text: pa.Array,
) -> tuple[pa.Table, pa.Table]:
    """APM entities made of whole TINs, four participation snapshots, and QP determinations."""
    snapshots = [dt.date(year, 3, 31), dt.date(year, 6, 30), dt.date(year, 8, 31)]
    snapshots.append(dt.date(year, 12, 31))
    n_entities = max(3, n_tins // 40)
    entity_model = _choice(rng, n_entities, np.array([m[3] for m in _APM_MODELS]))
    participating = np.flatnonzero(rng.random(n_tins) < 0.3)
    entity_of = rng.integers(0, n_entities, size=len(participating))
    twice = participating[rng.random(len(participating)) < 0.05]
    ent_tin = np.concatenate([participating, twice])
    ent_id = np.concatenate([entity_of, rng.integers(0, n_entities, size=len(twice))])
    first_snapshot = np.where(rng.random(len(ent_tin)) < 0.1, rng.integers(1, 4, len(ent_tin)), 0)

    order = np.argsort(pair_tin, kind="stable")
    tin_sorted = pair_tin[order]
    lo = np.searchsorted(tin_sorted, ent_tin, side="left")
    hi = np.searchsorted(tin_sorted, ent_tin, side="right")
    counts = hi - lo
    row_entity = np.repeat(ent_id, counts)
    row_first = np.repeat(first_snapshot, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    row_pair = order[np.repeat(lo, counts) + offsets]

    n_snap = len(snapshots)
    snap_rows = np.repeat(np.arange(len(row_pair)), n_snap)
    snap_index = np.tile(np.arange(n_snap), len(row_pair))
    keep = snap_index >= row_first[snap_rows]
    snap_rows, snap_index = snap_rows[keep], snap_index[keep]
    entity = row_entity[snap_rows]
    model = entity_model[entity]
    mips = np.array([m[1] for m in _APM_MODELS])[model]
    advanced = np.array([m[2] for m in _APM_MODELS])[model]
    snapshot_days = np.array([_days(d) for d in snapshots])
    apm = pa.table(
        {
            "apm_entity_id": _digit_strings(entity + 1, 5, prefix="A"),
            "apm_model": pa.array([m[0] for m in _APM_MODELS]).take(pa.array(model)),
            "tin": tin_text.take(pa.array(pair_tin[row_pair][snap_rows])),
            "npi": npi_text.take(pa.array(pair_npi[row_pair][snap_rows])),
            "snapshot_date": _dates(snapshot_days[snap_index]),
            "mips_apm": pa.array(mips),
            "advanced_apm": pa.array(advanced),
        }
    )

    # QP status for every participant NPI: in an Advanced APM most are QPs, some Partial QPs.
    in_advanced = np.zeros(len(npi_text), dtype=bool)
    in_advanced[
        pair_npi[row_pair][np.array([m[2] for m in _APM_MODELS])[entity_model[row_entity]]]
    ] = True
    participant = np.zeros(len(npi_text), dtype=bool)
    participant[pair_npi[row_pair]] = True
    roll = rng.random(len(npi_text))
    status = np.where(in_advanced & (roll < 0.55), 0, np.where(in_advanced & (roll < 0.67), 1, 2))
    listed = np.flatnonzero(participant)
    qp = pa.table(
        {
            "npi": npi_text.take(pa.array(listed)),
            "qp_status": pa.array(["Y", "P", "N"]).take(pa.array(status[listed])),
        }
    )
    return apm, qp


# ------------------------------------------------------------------ claim lines


def _claim_chunk(pop: _Population, index: int, n: int) -> pa.Table:
    """``n`` claim lines from the chunk's own random stream (deterministic per seed, index)."""
    rng = _rng(pop.seed, 2, index)

    # Claims (a TIN/NPI slot each, 1..12 lines) until there are n lines. Sampling sorted
    # uniforms is cache friendly; a random permutation restores an iid order.
    slots: list[NDArray] = []
    sizes_parts: list[NDArray] = []
    total = 0
    while total < n:
        k = max(1024, int((n - total) / 1.5) + 64)
        drawn = np.searchsorted(pop.slot_cumulative, np.sort(rng.random(k)), side="right")
        drawn = np.minimum(drawn, len(pop.slot_cumulative) - 1)[rng.permutation(k)]
        drawn_sizes = np.minimum(rng.geometric(pop.pair_claim_p[drawn // 3]), 12)
        slots.append(drawn)
        sizes_parts.append(drawn_sizes)
        total += int(drawn_sizes.sum())
    slot = np.concatenate(slots)
    sizes = np.concatenate(sizes_parts)
    ends = np.cumsum(sizes)
    m = int(np.searchsorted(ends, n)) + 1
    slot, sizes = slot[:m], sizes[:m].copy()
    sizes[-1] -= int(ends[m - 1]) - n
    pair = slot // 3
    start, end = pop.slot_start[slot], pop.slot_end[slot]
    service = start + (rng.random(m) * (end - start + 1)).astype(np.int64)
    lag = 2 + np.minimum(rng.gamma(1.5, 10.0, size=m), 70.0).astype(np.int64)
    in_panel = (rng.random(m) * pop.pair_panel_size[pair]).astype(np.int64)
    bene = (pop.pair_panel_start[pair] + in_panel) % pop.n_beneficiaries

    # Place of service from the setting's distribution: one search over every setting's
    # cumulative shares, each setting's row offset by 2 so rows never touch.
    setting = pop.pair_setting[pair].astype(np.float64)
    key = rng.random(m, dtype=np.float32) + 2.0 * setting
    pos = np.searchsorted(_SETTING_POS_FLAT, key, side="left") - len(POS_CODES) * setting
    pos = np.minimum(pos.astype(np.int64), len(POS_CODES) - 1)
    facility = _FACILITY_POS_MASK[pos]

    claim_numbers = (index + 1) * 10_000_000 + np.arange(m, dtype=np.int64)
    claim_id = pa.array(claim_numbers).cast(pa.string())

    # Lines.
    first_line = np.cumsum(sizes) - sizes
    claim_of_line = np.repeat(np.arange(m), sizes)
    line_number = (np.arange(n) - first_line[claim_of_line] + 1).astype(np.int32)
    line_pair = pair[claim_of_line]
    covered = rng.random(n, dtype=np.float32) < pop.pair_covered[line_pair]
    facing_draw = rng.random(n, dtype=np.float32)
    facing = facing_draw < np.where(pop.pair_facing[line_pair], 0.92, 0.02)
    noise = rng.standard_normal(n, dtype=np.float32) * np.float32(0.7)
    amount = np.exp(pop.pair_amount_mu[line_pair] + noise)
    amount = np.where(covered, amount, amount * 3.0)
    cents = np.round(amount * 100.0).astype(np.int64)
    cents[rng.random(n, dtype=np.float32) < 0.01] = 0
    code_draw = rng.integers(0, 8, size=n, dtype=np.int8)
    pool_code = _POOL_TABLE[pop.pair_pool[line_pair], code_draw]
    hcpcs = np.where(covered, pool_code, _DRUG_INDEX[code_draw])

    claim_take = pa.array(claim_of_line.astype(np.int32))
    facility_line = facility[claim_of_line]
    return pa.table(
        {
            "claim_id": claim_id.take(claim_take),
            "line_number": pa.array(line_number),
            "tin": _dictionary(pop.pair_tin[line_pair], pop.tin_text),
            "npi": _dictionary(pop.pair_npi[line_pair], pop.npi_text),
            "beneficiary_id": pop.bene_text.take(pa.array(bene[claim_of_line])),
            "date_of_service": _dates(service[claim_of_line]),
            "processed_date": _dates((service + lag)[claim_of_line]),
            "allowed_amount": _decimal_cents(cents),
            "hcpcs": _dictionary(hcpcs, _HCPCS_TEXT),
            "place_of_service": _dictionary(pos[claim_of_line], _POS_TEXT),
            "covered_professional_service": pa.array(covered),
            "patient_facing": pa.array(facing),
            "facility_ccn": _dictionary(
                pop.pair_hospital[line_pair], pop.ccn_text, mask=~facility_line
            ),
        }
    )


def _setting_pos_cumulative() -> NDArray:
    table = np.zeros((len(SETTINGS), len(POS_CODES)))
    for s, name in enumerate(SETTINGS):
        for code, share in _SETTING_POS[name].items():
            table[s, POS_CODES.index(code)] = share
    cumulative = np.cumsum(table, axis=1)
    return cumulative / cumulative[:, -1:]


_SETTING_POS_CUMULATIVE: Final = _setting_pos_cumulative()
_SETTING_POS_FLAT: Final = (
    _SETTING_POS_CUMULATIVE + 2.0 * np.arange(len(SETTINGS))[:, None]
).ravel()
_FACILITY_POS_MASK: Final = np.array([code in FACILITY_POS for code in POS_CODES])
_POS_TEXT: Final = pa.array(POS_CODES, pa.string())
_HCPCS_TEXT: Final = pa.array(HCPCS_CODES, pa.string())
_POOL_TABLE: Final = np.array(
    [[HCPCS_CODES.index(c) for c in pool] for pool in _HCPCS_POOLS.values()], dtype=np.int32
)
_DRUG_INDEX: Final = np.array([HCPCS_CODES.index(c) for c in _DRUG_HCPCS], dtype=np.int32)


# ------------------------------------------------------------------ entry point


def synthesize(
    out_dir: Path | str,
    *,
    clinicians: int,
    lines: int,
    year: int,
    seed: int,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    tins: int | None = None,
    near_threshold: float | None = None,
) -> SyntheticClaims:
    """Write synthetic inputs for performance year ``year`` under ``out_dir`` as Parquet.

    ``claim_lines/part-NNNNN.parquet`` holds ``lines`` claim lines in chunks of
    :data:`CHUNK_LINES`; ``clinicians``, ``practice_locations``, ``apm_participation``,
    ``qp_status``, ``virtual_groups`` and ``facility_scores`` are single files. The same
    arguments give byte-identical files. ``progress(done_lines, total_lines)`` is called after
    each chunk.

    Two knobs shape the population (leave them out for the default shape):

    * ``tins``: exactly this many practices (TINs), their sizes still skewed (a truncated Zipf
      law whose mean is ``clinicians / tins``); by default the number follows from Zipf(1.9),
      about one TIN per 7 clinicians.
    * ``near_threshold``: the share of TIN/NPIs whose volumes are drawn around the low-volume
      criteria (about 190 to 300 beneficiaries and covered services and $72,000 to $112,500 of
      allowed charges per segment). Those are the ones the determination finds opt-in eligible
      (exceeding one or two criteria) or just eligible or exempt, so this is the knob for more
      opt-in eligible entities. Each needs about 490 lines; a share the lines cannot pay for is
      a ValueError. By default it is what a third of the lines pays for, at most 15%.
    """
    if clinicians < 1 or lines < 1:
        raise ValueError("clinicians and lines must be positive")
    if tins is not None and not 1 <= tins <= clinicians:
        raise ValueError("tins must be between 1 and the number of clinicians")
    if near_threshold is not None and not 0.0 <= near_threshold <= 1.0:
        raise ValueError("near_threshold must be a share between 0 and 1")
    out = Path(out_dir)
    claims_dir = out / "claim_lines"
    claims_dir.mkdir(parents=True, exist_ok=True)
    for old in claims_dir.glob("part-*.parquet"):
        old.unlink()

    population, tables = _build(
        clinicians=clinicians,
        lines=lines,
        year=year,
        seed=seed,
        tins=tins,
        near_threshold=near_threshold,
    )
    for name, table in tables.items():
        _write(table, out / f"{name}.parquet")

    chunks = [
        (i, min(CHUNK_LINES, lines - start)) for i, start in enumerate(range(0, lines, CHUNK_LINES))
    ]
    done = 0

    def job(chunk: tuple[int, int]) -> int:
        index, n = chunk
        _write(_claim_chunk(population, index, n), claims_dir / f"part-{index:05d}.parquet")
        return n

    workers = max(1, min(threads or os.cpu_count() or 1, len(chunks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n in pool.map(job, chunks):
            done += n
            if progress is not None:
                progress(done, lines)

    return SyntheticClaims(
        out_dir=out,
        year=year,
        seed=seed,
        lines=lines,
        clinicians=clinicians,
        tins=len(population.tin_text),
        tin_npis=len(population.pair_tin),
        claim_files=len(chunks),
    )
