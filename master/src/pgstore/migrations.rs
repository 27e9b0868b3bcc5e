//! The shared store's schema, as versioned migrations: each is applied once,
//! in order, in the transaction [`super::migrate`] holds. Never edit one that
//! has shipped; add the next (a column: `ALTER TABLE ... ADD COLUMN`).

/// `(version, SQL)`, versions strictly increasing from 1.
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        // The job cache. JSON is kept as text, not jsonb, so a return reads back
        // with its keys in the order the minion sent them (as SQLite keeps it).
        // `master` is the publishing master's public key: at start a master
        // finishes only the jobs *it* left running.
        "
CREATE TABLE brine_jobs (
    jid       text PRIMARY KEY,
    operator  text NOT NULL,
    target    text NOT NULL,
    tgt_type  text NOT NULL,
    function  text NOT NULL,
    args      text NOT NULL,
    expected  text NOT NULL,
    started   bigint NOT NULL,
    finished  bigint,
    saltenv   text NOT NULL DEFAULT 'base',
    pillarenv text,
    master    text NOT NULL
);
CREATE INDEX brine_jobs_started ON brine_jobs (started);
CREATE INDEX brine_jobs_active ON brine_jobs (jid) WHERE finished IS NULL;
CREATE TABLE brine_returns (
    jid      text NOT NULL REFERENCES brine_jobs (jid) ON DELETE CASCADE,
    minion   text NOT NULL,
    success  boolean NOT NULL,
    retcode  integer NOT NULL,
    ret      text NOT NULL,
    returned bigint NOT NULL,
    PRIMARY KEY (jid, minion)
);
-- The last jid handed out by any master, in microseconds since the epoch:
-- one row, bumped atomically, so two masters never hand out the same jid.
CREATE TABLE brine_jid_clock (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    last bigint NOT NULL
);
INSERT INTO brine_jid_clock (last) VALUES (0);
",
    ),
    (
        2,
        // The key store (`key_store: postgres`): one row per minion id, as an
        // id is in one of Salt's three directories at a time; operators by
        // key, so each master's own `local` operator key has its row.
        "
CREATE TABLE brine_minion_keys (
    id      text PRIMARY KEY,
    state   text NOT NULL CHECK (state IN ('accepted', 'pending', 'rejected')),
    key     text NOT NULL,
    changed timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE brine_operators (
    key  text PRIMARY KEY,
    name text NOT NULL
);
",
    ),
    (
        3,
        // A minion's scheduled runs (`master drift`) and the git commits a job
        // compiled (gitfs), as the SQLite cache's schema 3 and 4 added them.
        "
ALTER TABLE brine_jobs ADD COLUMN schedule text;
ALTER TABLE brine_jobs ADD COLUMN schedule_interval bigint;
ALTER TABLE brine_jobs ADD COLUMN tree_commit text;
ALTER TABLE brine_jobs ADD COLUMN pillar_commit text;
CREATE INDEX brine_jobs_scheduled ON brine_jobs (jid) WHERE schedule IS NOT NULL;
",
    ),
    (
        4,
        // `cache: postgres`: each minion's last grains and merged mine data
        // (JSON text, as the files under cachedir/minions hold them), and
        // the operator ACL every master applies (`key_store: postgres`):
        // one row, the JSON of the master config's `acl` value.
        "
CREATE TABLE brine_minion_cache (
    id      text PRIMARY KEY,
    grains  text,
    mine    text,
    changed timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE brine_acl (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    acl     text NOT NULL,
    changed timestamptz NOT NULL DEFAULT now()
);
",
    ),
    (
        5,
        // Whether a job ran in test mode, as a column: `args` may hold
        // Python's JSON text for a non-finite float (`Infinity`, from a
        // pillar override's `.inf`), which a `::jsonb` cast refuses, so
        // `master drift` must not parse it in SQL. Rows written before this
        // migration hold standard JSON (Brine wrote such a float as null).
        "
ALTER TABLE brine_jobs ADD COLUMN test boolean NOT NULL DEFAULT false;
UPDATE brine_jobs SET test = true WHERE (args::jsonb -> 'test') = 'true'::jsonb;
",
    ),
];
