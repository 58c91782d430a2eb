"""The pure domain: eligibility, elections, submissions and scoring. No I/O here."""
