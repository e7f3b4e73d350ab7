"""The audit inventory, shared by `webex-xml-lint audit` and the live proxy (`--db`).

    from proxy_addon.audit.store import MessageRecord, open_store, as_stored
    store = open_store("audit.sqlite")            # or "postgresql://user:pw@host:5432/db"
    record = MessageRecord.from_result(result, data, source="proxy", locator=flow.id,
                                       time=..., client_address=..., user_agent=...)
    store.record(record, result.findings)        # engine Findings or StoredFindings
"""

from proxy_addon.audit.store.backends import StoreError, display_url
from proxy_addon.audit.store.records import MessageRecord, StoredFinding, as_stored, stored_rows
from proxy_addon.audit.store.schema import LATEST as SCHEMA_VERSION
from proxy_addon.audit.store.store import (
           SEVERITIES,
           Breakdown,
           ChecklistItem,
           PreparedBatch,
           Store,
           check_store,
           open_store,
           prepare,
)

__all__ = ["SCHEMA_VERSION", "SEVERITIES", "Breakdown", "ChecklistItem", "MessageRecord", "PreparedBatch", "Store", "StoreError",
           "StoredFinding", "check_store", "display_url", "open_store", "prepare", "as_stored", "stored_rows"]
