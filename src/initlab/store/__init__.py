"""The results database: the truth every report is drawn from."""

from initlab.store.db import DEFAULT_PATH, RunRecord, Store
from initlab.store.export import export_csv

__all__ = ["DEFAULT_PATH", "RunRecord", "Store", "export_csv"]
