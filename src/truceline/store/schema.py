"""The tables, as SQLAlchemy Core metadata.

Times are integer seconds since the Unix epoch, UTC (``*_t`` / ``t`` columns);
the domain layer turns them into timezone-aware datetimes. Geometry is GeoJSON
text plus bbox columns: the spatial work happens in-process with shapely, so
neither SQLite nor PostgreSQL needs a spatial extension. Every accepted record
carries ``ledger_index``, its leaf in the append-only ledger.

The Alembic migrations in ``store/migrations`` create these tables; a test
checks that the migrated schema equals this metadata.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = ["metadata"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# -- workspace ----------------------------------------------------------------

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- evidence ledger (RFC 9162 Merkle tree) ------------------------------------

ledger_entries = Table(
    "ledger_entries",
    metadata,
    # 0-based leaf index; on SQLite the table's rowid (no second index to keep up)
    Column(
        "idx", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    ),
    Column("kind", String(40), nullable=False),  # observation, status_change, finding, ...
    Column("ref", String(100), nullable=False),  # id of the record in its own table
    Column("data", LargeBinary, nullable=False),  # canonical bytes (RFC 8785 JSON)
    Column("leaf_hash", LargeBinary(32), nullable=False),  # SHA-256(0x00 || data)
    Column("at", BigInteger, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),  # hex of the C2SP key hash
    Column("name", String(200), nullable=False),  # the log's origin / key name
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("retired_at", BigInteger),
)

tree_heads = Table(
    "tree_heads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("key_id", String(64), ForeignKey("signing_keys.key_id"), nullable=False),
    Column("checkpoint", Text, nullable=False),  # signed C2SP checkpoint text
)

cosignatures = Table(
    "cosignatures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tree_head_id", Integer, ForeignKey("tree_heads.id"), nullable=False),
    Column("witness", String(200), nullable=False),
    Column("signature_line", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    UniqueConstraint("tree_head_id", "witness"),
)

# the ledger's Merkle tree as C2SP tlog-tiles of height 8: tile (level L, idx N) holds
# up to 256 consecutive 32-byte hashes of tree level 8L from index 256 N (level 0: the
# leaf hashes, as in ledger_entries.leaf_hash); the last tile of each level is partial
# and rewritten as the log grows; derived from the leaves, written in the same
# transaction, and compared with them by `truceline ledger verify-store`
ledger_tiles = Table(
    "ledger_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hashes", LargeBinary, nullable=False),
)

# -- agreement -----------------------------------------------------------------

agreements = Table(
    "agreements",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_to", BigInteger),  # exclusive; null = in force
    Column("sha256", String(64), nullable=False),
    Column("content", Text, nullable=False),  # compiled agreement as JSON
    Column("loaded_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    UniqueConstraint("agreement_id", "version"),
)

# -- sources -------------------------------------------------------------------

sources = Table(
    "sources",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("party", String(20)),  # set for a party's own reporting channel
    Column("independence_group", String(100), nullable=False),
    Column("signature_policy", String(20), nullable=False, server_default="optional"),
    Column("public_key", LargeBinary(32)),
    Column("created_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
)

source_grades = Table(
    "source_grades",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(100), ForeignKey("sources.id"), nullable=False),
    Column("reliability", String(1), nullable=False),  # Admiralty A-F
    Column("valid_from", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("ledger_index", BigInteger),
    Index(None, "source_id", "valid_from"),
)

coverage = Table(
    "coverage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(100), ForeignKey("sources.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # observed | outage | denied
    Column("t_start", BigInteger, nullable=False),
    Column("t_end", BigInteger, nullable=False),
    Column("geometry", Text),  # GeoJSON footprint (null for an outage of the whole source)
    Column("minx", Float),
    Column("miny", Float),
    Column("maxx", Float),
    Column("maxy", Float),
    Column("note", Text),
    Column("ledger_index", BigInteger),
    Index(None, "t_start", "t_end"),
)

# -- observations ----------------------------------------------------------------

observations = Table(
    "observations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("uid", String(64), nullable=False, unique=True),  # idempotency key
    Column("source_id", String(100), ForeignKey("sources.id"), nullable=False),
    Column("client_id", String(200)),
    Column("t", BigInteger, nullable=False),
    Column("t_unc_s", Float, nullable=False),
    Column("lon", Float),
    Column("lat", Float),
    Column("radius_m", Float),
    Column("obs_lon", Float),
    Column("obs_lat", Float),
    Column("bearing_deg", Float),
    Column("bearing_sd_deg", Float),
    Column("range_min_m", Float),
    Column("range_max_m", Float),
    Column("kind", String(30), nullable=False),
    Column("weapon_class", String(40)),
    Column("count", Integer, nullable=False),
    Column("credibility", Integer, nullable=False),
    Column("actor", String(20)),  # party the source says acted
    Column("corrects", String(64)),  # uid of the observation this one corrects
    Column("description", Text),
    Column("attrs", Text),  # JSON of format-specific extras (e.g. UCDP id, fatalities)
    Column("signature", Text),
    Column("received_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    Index(None, "t"),
    Index(None, "source_id", "id"),  # a source's observations, newest first
)

# -- incidents -------------------------------------------------------------------

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("t", BigInteger, nullable=False),  # fused time
    Column("t_start", BigInteger, nullable=False),
    Column("t_end", BigInteger, nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("radius_m", Float, nullable=False),  # circular uncertainty (95 %)
    Column("ellipse", Text),  # JSON {semi_major_m, semi_minor_m, azimuth_deg, confidence}
    Column("kind", String(30), nullable=False),
    Column("weapon_class", String(40)),
    Column("count", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("n_observations", Integer, nullable=False),
    Column("n_groups", Integer, nullable=False),  # independent source groups
    Column("confidence", Float, nullable=False),  # that it happened
    Column("actor", String(20)),  # attributed party, only with a basis
    Column("actor_confidence", Float),
    Column("actor_basis", Text),
    Column("sector", String(40)),
    Column("side", Text),  # JSON {party: probability}
    Column("merged_into", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "t"),
    Index(None, "status"),
)

incident_observations = Table(
    "incident_observations",
    metadata,
    Column(
        "observation_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("observations.id"),
        primary_key=True,
    ),
    Column(
        "incident_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("incidents.id"),
        nullable=False,
    ),
    Index(None, "incident_id"),
)

status_changes = Table(
    "status_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "incident_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("incidents.id"),
        nullable=False,
    ),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON snapshot of the evidence then
    Column("ledger_index", BigInteger),
    Index(None, "incident_id"),
)

# -- compliance ------------------------------------------------------------------

declarations = Table(
    "declarations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(64), nullable=False, unique=True),
    Column("party", String(20)),  # declaring party (null for an operator)
    Column("declarant", String(100), nullable=False),
    Column("subject", String(40), nullable=False),  # personnel | equipment | energy
    Column("item", String(60), nullable=False),  # e.g. army, tank, delivered_to:A
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("filed_at", BigInteger, nullable=False),
    Column("attrs", Text),
    Column("ledger_index", BigInteger),
)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),  # rule + evidence digest
    Column("rule_id", String(100), nullable=False),
    Column("rule_kind", String(40), nullable=False),
    Column("agreement_id", String(100), nullable=False),
    Column("agreement_version", Integer, nullable=False),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("party", String(20)),  # responsible party, only where evidence places it
    Column("party_basis", Text),
    Column("severity", String(20), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON {incidents, declarations, ledger}
    Column("lon", Float),
    Column("lat", Float),
    Column("created_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    Index(None, "period_start"),
)

finding_changes = Table(
    "finding_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("finding_id", Integer, ForeignKey("findings.id"), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("ledger_index", BigInteger),
)

# -- API users ---------------------------------------------------------------------

api_users = Table(
    "api_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # monitor, sensor, analyst, party, ...
    Column("party", String(20)),  # the party a liaison speaks for
    Column("source", String(100)),  # the source a monitor's or sensor's user submits as
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the token
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

# -- deconfliction register ---------------------------------------------------

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("party", String(40), nullable=False),  # the notifier: a party or an aid organisation
    Column("activity", String(40), nullable=False),  # an activity, or a protected site's kind
    Column("status", String(20), nullable=False),  # active | cancelled | withdrawn (a site)
    Column("version", Integer, nullable=False),  # the current version
    Column("footprint", Text, nullable=False),  # GeoJSON (lon/lat) of the current version
    Column("t_start", BigInteger, nullable=False),
    Column("t_end", BigInteger, nullable=False),  # 2**62 for a site until withdrawn
    Column("alt_min", Float, nullable=False),
    Column("alt_max", Float, nullable=False),
    Column("personnel", Integer),
    Column("details", Text, nullable=False),  # JSON: the notifier's own details (units...)
    Column("filed_at", BigInteger, nullable=False),  # when version 1 was filed
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "status", "t_start", "t_end"),
)

notification_versions = Table(
    "notification_versions",
    metadata,
    Column("notification_id", Integer, ForeignKey("notifications.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("action", String(20), nullable=False),  # notify | amend | cancel | withdraw
    Column("activity", String(40), nullable=False),
    Column("footprint", Text, nullable=False),
    Column("t_start", BigInteger, nullable=False),
    Column("t_end", BigInteger, nullable=False),
    Column("alt_min", Float, nullable=False),
    Column("alt_max", Float, nullable=False),
    Column("personnel", Integer),
    Column("details", Text, nullable=False),
    Column("cited", Text, nullable=False),  # JSON {notification id: version} it cited
    Column("reason", Text),
    Column("at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    Index(None, "ledger_index"),  # the register's changes since a given ledger index
)

notification_conflicts = Table(
    "notification_conflicts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("notification_id", Integer, ForeignKey("notifications.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(20), nullable=False),  # volume | site | zone | notice
    Column("other_id", Integer),  # the other notification met (volume, site)
    Column("other_version", Integer),
    Column("other_party", String(40)),
    Column("rule_id", String(100)),  # the agreement rule broken (zone, notice)
    Column("zone_id", String(100)),
    Column("summary", Text, nullable=False),
    Column("area_m2", Float, nullable=False),
    Column("seconds", BigInteger),  # shared time; null when both stand until withdrawn
    Column("alt_m", Float),  # shared altitude; null when both cover every altitude
    Column("found_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    Index(None, "notification_id"),
)

notification_answers = Table(
    "notification_answers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("notification_id", Integer, ForeignKey("notifications.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("party", String(40), nullable=False),  # who must answer
    Column("sent_at", BigInteger, nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("answer", String(20)),  # acknowledged | objected; null while awaited
    Column("reason", Text),
    Column("answered_at", BigInteger),
    Column("escalated_at", BigInteger),
    Column("ledger_index", BigInteger),
    UniqueConstraint("notification_id", "version", "party"),
    Index(None, "answer", "due_at"),
)

hotline_calls = Table(
    "hotline_calls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("caller", String(100), nullable=False),
    Column("party", String(40)),
    Column("notification_id", Integer, ForeignKey("notifications.id")),
    Column("summary", Text, nullable=False),
    Column("ledger_index", BigInteger),
)

# -- early warning: alerts, subscriptions, webhook deliveries -------------------------

alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber", String(100), nullable=False),
    Column("url", Text, nullable=False),  # the webhook receiving signed POSTs
    Column("secret", String(128), nullable=False),  # HMAC-SHA256 key, never listed
    Column("policy", Text, nullable=False),  # JSON: units, kinds, min_probability, ...
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # surge, escalation
    Column("day", String(10), nullable=False),  # local day (ISO) the alert is about
    Column("score", Float, nullable=False),
    Column("record", Text, nullable=False),  # JSON: window, baseline, observed, drivers
    Column("created_at", BigInteger, nullable=False),
    Column("ledger_index", BigInteger),
    UniqueConstraint("unit", "kind", "day"),
    Index(None, "day"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alerts.id"), nullable=False),
    Column("subscription_id", Integer, ForeignKey("alert_subscriptions.id"), nullable=False),
    Column("status", String(20), nullable=False),  # pending, held, delivered, dead
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "status"),
)
