"""Format adapters: QPP JSON, QRDA III (hardened lxml) and CSV rosters -> core values."""
