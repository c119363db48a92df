"""The results database schema (SQLite).

``runs`` holds one row per run; ``metrics`` and ``probe_rows`` hold tidy rows that point to it.
``sweeps`` and ``sweep_runs`` name the runs of each sweep by their config hash (a sweep's run of a
key may be replaced, e.g. after a crash; its membership stays). ``user_version`` records the schema
version; ``MIGRATIONS[v]`` brings a file at version v - 1 to version v in place. ``application_id``
marks the file as initlab's (stores made before it carry 0 and get it when next opened).
"""

SCHEMA_VERSION = 2
APPLICATION_ID = 0x494C4142  # "ILAB"

RUN_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id              TEXT PRIMARY KEY,
    config          TEXT NOT NULL,               -- the resolved RunConfig as JSON
    config_hash     TEXT NOT NULL,               -- RunConfig.key(): the run's identity in sweeps
    seed            INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('running', 'finished', 'diverged', 'failed')),
    reason          TEXT,                        -- why it diverged or failed (with the traceback)
    diverged_step   INTEGER,
    started_at      REAL NOT NULL,               -- Unix time
    ended_at        REAL,
    seconds         REAL,
    initlab_version TEXT NOT NULL,
    torch_version   TEXT NOT NULL,
    device          TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '{}',  -- final metrics as JSON
    dataset         TEXT GENERATED ALWAYS AS (json_extract(config, '$.dataset')) VIRTUAL,
    model           TEXT GENERATED ALWAYS AS (json_extract(config, '$.model')) VIRTUAL,
    init            TEXT GENERATED ALWAYS AS (json_extract(config, '$.init')) VIRTUAL
);
CREATE INDEX IF NOT EXISTS runs_by_hash ON runs (config_hash);

CREATE TABLE IF NOT EXISTS metrics (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch   INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    split   TEXT NOT NULL,
    name    TEXT NOT NULL,
    value   REAL
);
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id);

CREATE TABLE IF NOT EXISTS probe_rows (
    run_id  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    probe   TEXT NOT NULL,
    step    INTEGER NOT NULL,
    layer   TEXT NOT NULL,
    name    TEXT NOT NULL,
    value   REAL
);
CREATE INDEX IF NOT EXISTS probe_rows_by_run ON probe_rows (run_id, probe);
"""

SWEEP_TABLES = """
CREATE TABLE IF NOT EXISTS sweeps (
    name        TEXT PRIMARY KEY,
    spec        TEXT,                            -- the sweep's spec (base, axes, zip) as JSON, if any
    created_at  REAL NOT NULL,                   -- Unix time
    updated_at  REAL NOT NULL                    -- when it was last planned to run
);

CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep       TEXT NOT NULL REFERENCES sweeps (name) ON DELETE CASCADE,
    config_hash TEXT NOT NULL,                   -- runs.config_hash of one point of the sweep
    position    INTEGER NOT NULL,                -- the point's place in the sweep's plan
    PRIMARY KEY (sweep, config_hash)
);
CREATE INDEX IF NOT EXISTS sweep_runs_by_hash ON sweep_runs (config_hash);
"""

SCHEMA = RUN_TABLES + SWEEP_TABLES

MIGRATIONS = {2: SWEEP_TABLES}
