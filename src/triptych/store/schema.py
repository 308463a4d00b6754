"""The store's tables, created and upgraded by numbered migrations, each in one transaction.

Relational, so a person can query them: `runs` (one row per run: machine, environment, commit,
time, scenario), `samples` (one row per measured value: case, platform, variant, metric, unit,
direction, round, value) and `regressions` (the nightly gate's regressions of record, per
machine). A run's machine_info and platform metadata are kept as JSON beside it,
for the report's environment section only.
"""

from __future__ import annotations

import psycopg

from triptych.results.columns import added_in
from triptych.store.url import StoreError

VERSION_TABLE = "triptych_schema"
# Each entry upgrades the schema from its index to index + 1; never edit one that shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id            bigserial PRIMARY KEY,
        session       text NOT NULL UNIQUE,     -- the run's own id: every clone saves 0001_x
        name          text NOT NULL,            -- the saved file's stem, e.g. 0001_nightly
        machine       text NOT NULL,            -- the runner's host name
        env           text NOT NULL,            -- what must match to compare (CPU, kernel, ...)
        started       timestamptz,
        commit        text NOT NULL DEFAULT '',
        scenario      text NOT NULL DEFAULT '',
        partial       boolean NOT NULL,         -- stopped before its end (journal only)
        samples       integer NOT NULL,
        machine_info  jsonb NOT NULL,
        platforms     jsonb NOT NULL,
        published     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX runs_machine_started ON runs (machine, started);
    CREATE TABLE samples (
        run_id           bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        scenario         text NOT NULL,
        case_name        text NOT NULL,
        workload         text NOT NULL,
        family           text NOT NULL,
        platform         text NOT NULL,
        variant          text NOT NULL,
        profile          text NOT NULL,
        metric           text NOT NULL,
        unit             text NOT NULL,
        higher_is_better boolean NOT NULL,
        round            integer NOT NULL,
        value            double precision NOT NULL,
        foreign_cpu      double precision,
        layer            text NOT NULL,
        acceleration     text NOT NULL,
        primary_metric   text NOT NULL,
        is_primary       boolean NOT NULL,
        emulated         boolean NOT NULL,
        rank             integer NOT NULL,
        series           text NOT NULL,
        connections      double precision,
        placement        text NOT NULL
    );
    CREATE INDEX samples_run ON samples (run_id);
    -- Each run's cost against its host per family and column (the report's trend lines),
    -- computed when it is published: a year of nights is drawn without reading its samples.
    CREATE TABLE run_costs (
        run_id  bigint NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        family  text NOT NULL,
        label   text NOT NULL,
        cost    double precision NOT NULL,
        PRIMARY KEY (run_id, family, label)
    );
    """,
    # 2: one role per machine. A machine's role publishes (and replaces) only runs of its own
    # machine, checked here by row-level security, so one runner's credential cannot publish
    # as another. The tables' owner (a single shared credential, as before) is not limited.
    """
    CREATE TABLE machine_roles (
        role     name PRIMARY KEY,              -- a PostgreSQL role a runner logs in as
        machine  text NOT NULL                  -- the one machine (host name) it publishes
    );
    CREATE FUNCTION triptych_may_publish(m text) RETURNS boolean LANGUAGE sql STABLE AS
        $$ SELECT EXISTS (SELECT 1 FROM machine_roles WHERE role = current_user AND machine = m) $$;
    ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY runs_read ON runs FOR SELECT USING (true);
    CREATE POLICY runs_publish ON runs FOR INSERT WITH CHECK (triptych_may_publish(machine));
    CREATE POLICY runs_replace ON runs FOR DELETE USING (triptych_may_publish(machine));
    -- Samples and costs arrive by COPY, which row-level security refuses: a statement
    -- trigger checks every row a statement added belongs to a run its role may publish.
    CREATE FUNCTION triptych_owns_store() RETURNS boolean LANGUAGE sql STABLE AS
        $$ SELECT pg_has_role(current_user, relowner, 'MEMBER') FROM pg_class
           WHERE oid = 'runs'::regclass $$;
    CREATE FUNCTION triptych_check_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT triptych_owns_store() AND EXISTS (
            SELECT 1 FROM added a JOIN runs r ON r.id = a.run_id
            WHERE NOT triptych_may_publish(r.machine)
        ) THEN
            RAISE EXCEPTION 'this role may publish only its own machine''s runs'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER samples_own_machine AFTER INSERT ON samples
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION triptych_check_rows();
    CREATE TRIGGER run_costs_own_machine AFTER INSERT ON run_costs
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION triptych_check_rows();
    """,
    # 3: typed rounds and a general sweep axis: each sample's pass and set-up, the parameter its
    # sweep varies (the columns come from the column table, results/columns.py); the one axis
    # of older runs was `connections`.
    "ALTER TABLE samples RENAME COLUMN connections TO sweep_value;\n"
    f"ALTER TABLE samples {', '.join(added_in(3))};\n"
    "UPDATE samples SET sweep_axis = 'connections' WHERE sweep_value IS NOT NULL;",
    # 4: each round's host CPU by part and its wall time (host_cpu.py), from the column table.
    f"ALTER TABLE samples {', '.join(added_in(4))};",
    # 5: the nightly gate's regressions of record (gate/record.py), one row per regression of
    # each machine, in the record's order; a machine's role writes only its own machine's.
    """
    CREATE TABLE regressions (
        machine      text NOT NULL,             -- the runner whose gate found it
        position     integer NOT NULL,          -- its place in that machine's record
        env          text NOT NULL,
        scenario     text NOT NULL,
        case_name    text NOT NULL,
        metric       text NOT NULL,
        platform     text NOT NULL,             -- the report's column label
        first_run    text NOT NULL,
        first_date   text NOT NULL,
        last_good    text NOT NULL,
        cost         double precision NOT NULL,
        nights       jsonb NOT NULL,            -- the nights it was open, as a list of runs
        state        text NOT NULL,
        closed_run   text NOT NULL,
        accepted_by  text NOT NULL,
        accepted_at  text NOT NULL,
        reason       text NOT NULL,
        confirmed    text NOT NULL,
        PRIMARY KEY (machine, position)
    );
    ALTER TABLE regressions ENABLE ROW LEVEL SECURITY;
    CREATE POLICY regressions_read ON regressions FOR SELECT USING (true);
    CREATE POLICY regressions_add ON regressions FOR INSERT
        WITH CHECK (triptych_may_publish(machine));
    CREATE POLICY regressions_remove ON regressions FOR DELETE
        USING (triptych_may_publish(machine));
    -- Machines' roles made before this migration keep their gate's record here too.
    DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT m.role FROM machine_roles m JOIN pg_roles p ON p.rolname = m.role LOOP
            EXECUTE format('GRANT SELECT, INSERT, DELETE ON regressions TO %I', r.role);
        END LOOP;
    END $$;
    """,
    # 6: how often each case's sequential set-ups could have stopped (verdict/sequential.py),
    # from the column table.
    f"ALTER TABLE samples {', '.join(added_in(6))};",
)


def machine_role_sql(role: str, machine: str) -> list[tuple[str, tuple[str, ...]]]:
    """What the store's owner runs to let `role` publish the runs of `machine`, and only those
    (the README shows it as SQL). The role must exist, with LOGIN and a password of its own."""
    ident = '"' + role.replace('"', '""') + '"'
    return [
        ("GRANT SELECT, INSERT, DELETE ON runs, samples, run_costs, regressions TO " + ident, ()),
        (f"GRANT SELECT ON {VERSION_TABLE}, machine_roles TO {ident}", ()),
        (f"GRANT USAGE ON SEQUENCE runs_id_seq TO {ident}", ()),
        (
            "INSERT INTO machine_roles (role, machine) VALUES (%s, %s) "
            "ON CONFLICT (role) DO UPDATE SET machine = excluded.machine",
            (role, machine),
        ),
    ]


def current(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The schema version the store has (0: empty)."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,))
        row = cur.fetchone()
        if not row or not row[0]:
            return 0
        cur.execute(f"SELECT version FROM {VERSION_TABLE}")  # noqa: S608 - our constant
        found = cur.fetchone()
        return int(str(found[0])) if found else 0


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Bring the store to the newest schema; concurrent callers wait on one lock. Returns the
    version it has now."""
    up_to_date = current(conn) == len(MIGRATIONS)
    conn.commit()  # end the read's transaction: what follows is one of its own
    if up_to_date:
        return len(MIGRATIONS)  # nothing to create: a machine's role may not create anything
    with conn.transaction(), conn.cursor() as cur:
        # One migrator at a time, across every process that publishes.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('triptych-schema'))")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version integer NOT NULL)")
        version = current(conn)
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the store's schema is version {version}, newer than this triptych's "
                f"{len(MIGRATIONS)}; upgrade triptych"
            )
        for step in MIGRATIONS[version:]:
            cur.execute(step)
        cur.execute(f"DELETE FROM {VERSION_TABLE}")  # noqa: S608
        cur.execute(f"INSERT INTO {VERSION_TABLE} VALUES (%s)", (len(MIGRATIONS),))  # noqa: S608
    return len(MIGRATIONS)
