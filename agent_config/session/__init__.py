"""Session state between turns of a Bedrock conversation: the seed's Session Manager.

A Bedrock session spans many turns, each a separate Lambda invocation, possibly in different
containers at the same time. What a session keeps (the assessments' fingerprints and scores, the
full reports for paging, the conversation facts) must survive that, lose nothing and cost little.

```
manager.SessionManager        what is kept and the questions answers ask (history, diff, pages, facts)
   │
store.SessionStore (ABC)      layout, serialisation, chunking, TTL, optimistic locking, retries, errors
   ├── dynamodb.DynamoDBSessionStore   five primitives over the boto3 client
   └── memory.InMemorySessionStore     the same five over a dict (local use, tests)

table         the table design (keys, TTL, capacity) as prose and as `create_table` arguments
codec         canonical JSON, zlib, chunks, content hash (pure)
fingerprints  finding fingerprints and assessment summaries (pure)
diff          "what changed since last time" (pure)
attributes    the small pointers put in Bedrock's session attributes
errors        SessionError and its kinds, on the project's error taxonomy
```

`agent_config.interfaces.SessionStore` (load / save, a compare-and-set of the session state) is
implemented by every `store.SessionStore`.
"""

from agent_config.session.attributes import last_assessment_from_attributes, pointer_attributes
from agent_config.session.diff import diff_fingerprints
from agent_config.session.dynamodb import DynamoDBSessionStore, client_config, dynamodb_client
from agent_config.session.errors import (
    SessionConflict,
    SessionDataCorrupt,
    SessionError,
    SessionRecordNotFound,
    SessionReportTooLarge,
    SessionStoreUnavailable,
    SessionTableMissing,
)
from agent_config.session.fingerprints import finding_fingerprint, fingerprints_of
from agent_config.session.manager import SessionManager, session_manager_from_config
from agent_config.session.memory import InMemorySessionStore
from agent_config.session.models import (
    AssessmentRecord,
    AssessmentSummary,
    ConversationFacts,
    FindingChanges,
    FindingFingerprint,
    ReportManifest,
    ReportPage,
    SessionRecord,
    SessionState,
)
from agent_config.session.settings import BackoffSettings, SessionSettings
from agent_config.session.store import SessionStore, StoreStats
from agent_config.session.table import (
    REQUIRED_IAM_ACTIONS,
    TTL_ATTRIBUTE,
    create_session_table,
    table_definition,
    time_to_live_definition,
)

__all__ = [
    "REQUIRED_IAM_ACTIONS",
    "TTL_ATTRIBUTE",
    "AssessmentRecord",
    "AssessmentSummary",
    "BackoffSettings",
    "ConversationFacts",
    "DynamoDBSessionStore",
    "FindingChanges",
    "FindingFingerprint",
    "InMemorySessionStore",
    "ReportManifest",
    "ReportPage",
    "SessionConflict",
    "SessionDataCorrupt",
    "SessionError",
    "SessionManager",
    "SessionRecord",
    "SessionRecordNotFound",
    "SessionReportTooLarge",
    "SessionSettings",
    "SessionState",
    "SessionStore",
    "SessionStoreUnavailable",
    "SessionTableMissing",
    "StoreStats",
    "client_config",
    "create_session_table",
    "diff_fingerprints",
    "dynamodb_client",
    "finding_fingerprint",
    "fingerprints_of",
    "last_assessment_from_attributes",
    "pointer_attributes",
    "session_manager_from_config",
    "table_definition",
    "time_to_live_definition",
]
