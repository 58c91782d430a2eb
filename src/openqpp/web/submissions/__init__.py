"""Submissions web: the Submissions API, the practice Reporting Overview upload and
attestation pages, and the registry upload with participant elections."""
