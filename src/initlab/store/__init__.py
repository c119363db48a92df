"""The results database: the truth every report is drawn from."""

from initlab.store.db import DEFAULT_PATH, RunRecord, Store
from initlab.store.export import export_csv
from initlab.store.identity import check_store

__all__ = ["DEFAULT_PATH", "RunRecord", "Store", "check_store", "export_csv"]
