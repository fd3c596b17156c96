-- SPDX-License-Identifier: GPL-3.0-or-later
-- A JouleBench database of schema version 1 (the first released layout), with data, for the
-- migration tests (tst_database_schema). The DDL is a frozen copy of SchemaV1 in
-- database/schema.cpp; the test checks that migrating this file gives the same schema as a
-- freshly created database. Sample chunks use codec 0 (raw little-endian doubles).
PRAGMA application_id = 1245857102;
CREATE TABLE experiment (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX experiment_plan_hash ON experiment(plan_hash);
CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiment(id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    chain_json TEXT NOT NULL DEFAULT '[]',
    backend TEXT NOT NULL,
    repetition INTEGER NOT NULL,
    config_key TEXT NOT NULL,
    config_json TEXT NOT NULL DEFAULT '{}',
    env_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    flags TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    started TEXT NOT NULL,
    ended TEXT
);
CREATE INDEX run_experiment ON run(experiment_id);
CREATE TABLE run_domain (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate')),
    meter_id TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, name)
);
CREATE TABLE phase (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    t_start REAL NOT NULL,
    duration REAL NOT NULL,
    UNIQUE (run_id, ordinal)
);
CREATE TABLE phase_energy (
    phase_id INTEGER NOT NULL REFERENCES phase(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate')),
    gross_j REAL NOT NULL,
    net_j REAL NOT NULL,
    avg_power_w REAL NOT NULL,
    PRIMARY KEY (phase_id, domain)
) WITHOUT ROWID;
CREATE TABLE metric (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    phase TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL CHECK (kind IN ('measured', 'estimate', 'proxy', 'computed')),
    UNIQUE (run_id, phase, name)
);
CREATE TABLE sample_chunk (
    id INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES run_domain(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    t0 REAL NOT NULL,
    t1 REAL NOT NULL,
    j0 REAL NOT NULL,
    j1 REAL NOT NULL,
    prev_t REAL,
    prev_j REAL,
    p_min REAL,
    p_max REAL,
    codec INTEGER NOT NULL,
    blocks BLOB NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (domain_id, seq)
);
CREATE INDEX sample_chunk_time ON sample_chunk(domain_id, t1);
CREATE TABLE artifact (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX artifact_run ON artifact(run_id);

PRAGMA user_version = 1;

INSERT INTO experiment (id, name, plan_json, plan_hash, created)
VALUES (1, 'mnist-prune', '{"model":"lenet5","techniques":["prune"]}', 'hash-v1-a',
        '2026-01-05T10:00:00.000Z');

-- Run 1 completed; run 2 was left 'running' (schema 1 did not record the owner process).
INSERT INTO run (id, experiment_id, variant, chain_json, backend, repetition, config_key,
                 config_json, env_json, status, flags, error, started, ended)
VALUES (1, 1, 'lenet5 + prune(0.5)', '[{"id":"prune","amount":0.5}]', 'cpu:2', 0, 'cfg-a',
        '{"batch":64}', '{"host":"old"}', 'completed', '["thermal-throttle"]', '',
        '2026-01-05T10:00:01.000Z', '2026-01-05T10:05:00.000Z');
INSERT INTO run (id, experiment_id, variant, chain_json, backend, repetition, config_key,
                 config_json, env_json, status, flags, error, started, ended)
VALUES (2, 1, 'lenet5 + prune(0.5)', '[{"id":"prune","amount":0.5}]', 'cpu:2', 1, 'cfg-a',
        '{"batch":64}', '{"host":"old"}', 'running', '[]', '', '2026-01-05T10:06:00.000Z',
        NULL);

INSERT INTO run_domain (id, run_id, name, kind, meter_id)
VALUES (1, 1, 'package-0', 'measured', 'rapl-powercap');
INSERT INTO run_domain (id, run_id, name, kind, meter_id)
VALUES (2, 1, 'cpu', 'estimate', 'estimate');
INSERT INTO run_domain (id, run_id, name, kind, meter_id)
VALUES (3, 2, 'package-0', 'measured', 'rapl-powercap');

INSERT INTO phase (id, run_id, name, ordinal, t_start, duration)
VALUES (1, 1, 'baseline', 0, 0.0, 1.0);
INSERT INTO phase (id, run_id, name, ordinal, t_start, duration)
VALUES (2, 1, 'inference', 1, 1.0, 1.0);
INSERT INTO phase_energy (phase_id, domain, kind, gross_j, net_j, avg_power_w)
VALUES (1, 'package-0', 'measured', 10.0, 0.0, 10.0);
INSERT INTO phase_energy (phase_id, domain, kind, gross_j, net_j, avg_power_w)
VALUES (2, 'package-0', 'measured', 10.0, 0.0, 10.0);

INSERT INTO metric (run_id, phase, name, value, unit, kind)
VALUES (1, '', 'accuracy', 0.9812, '', 'computed');
INSERT INTO metric (run_id, phase, name, value, unit, kind)
VALUES (1, 'inference', 'latency_p50', 1.25, 'ms', 'measured');

INSERT INTO sample_chunk (domain_id, seq, n, t0, t1, j0, j1, prev_t, prev_j, p_min, p_max,
                          codec, blocks, data)
VALUES (1, 0, 5, 0.0, 2.0, 0.0, 20.0, NULL, NULL, 8.0, 12.0, 0,
        X'000000000000004000000000000034400000004100004041',
        X'280000000000000000000000000000000000E03F000000000000F03F000000000000F83F000000000000004000000000000000000000000000001440000000000000244000000000000030400000000000003440');
INSERT INTO sample_chunk (domain_id, seq, n, t0, t1, j0, j1, prev_t, prev_j, p_min, p_max,
                          codec, blocks, data)
VALUES (2, 0, 3, 0.0, 2.0, 0.0, 9.0, NULL, NULL, 3.0, 6.0, 0,
        X'00000000000000400000000000002240000040400000C040',
        X'180000000000000000000000000000000000F03F0000000000000040000000000000000000000000000008400000000000002240');

INSERT INTO artifact (run_id, kind, path, sha256, bytes, created)
VALUES (1, 'model', 'models/lenet5-pruned.pt',
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0,
        '2026-01-05T10:05:00.000Z');
