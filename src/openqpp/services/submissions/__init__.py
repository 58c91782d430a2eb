"""Submissions use cases: accepting data from every path (file uploads, the registry upload
with participant elections, manual attestation, the Submissions API), keeping every version,
and reading what a caller may see."""
