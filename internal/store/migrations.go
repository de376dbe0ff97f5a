package store

// migrations are the schema, one step per entry: entry i takes the file from
// version i to version i+1. Never edit an entry that has shipped; append.
//
// Times are INTEGER milliseconds since the Unix epoch (UTC); durations are
// INTEGER milliseconds.
var migrations = []string{
	// 1: deployments and the snapshots catalogue.
	`CREATE TABLE deployments (
		id                INTEGER PRIMARY KEY,
		kind              TEXT    NOT NULL,
		env               TEXT    NOT NULL,
		definition        TEXT    NOT NULL DEFAULT '',
		revision          TEXT    NOT NULL DEFAULT '',
		previous_revision TEXT    NOT NULL DEFAULT '',
		git_name          TEXT    NOT NULL DEFAULT '',
		git_email         TEXT    NOT NULL DEFAULT '',
		os_user           TEXT    NOT NULL DEFAULT '',
		user_host         TEXT    NOT NULL DEFAULT '',
		plan              TEXT,
		started_at        INTEGER NOT NULL,
		finished_at       INTEGER,
		duration_ms       INTEGER,
		status            TEXT    NOT NULL,
		error             TEXT    NOT NULL DEFAULT '',
		image_digests     TEXT,
		pid               INTEGER NOT NULL DEFAULT 0,
		host              TEXT    NOT NULL DEFAULT '',
		proc_start        TEXT    NOT NULL DEFAULT '',
		heartbeat_at      INTEGER NOT NULL
	);
	CREATE INDEX deployments_env_started ON deployments (env, started_at DESC, id DESC);
	CREATE INDEX deployments_running ON deployments (status) WHERE status = 'running';
	CREATE TABLE snapshots (
		id            INTEGER PRIMARY KEY,
		name          TEXT    NOT NULL,
		env           TEXT    NOT NULL,
		service       TEXT    NOT NULL DEFAULT '',
		volume        TEXT    NOT NULL DEFAULT '',
		size          INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL,
		deployment_id INTEGER REFERENCES deployments (id) ON DELETE SET NULL,
		UNIQUE (env, name)
	);
	CREATE INDEX snapshots_deployment ON snapshots (deployment_id);`,
	// 2: the golden copies this installation loaded or cloned from, when
	// it last did, and which one each environment's database came from
	// (what berth gc judges them by).
	`CREATE TABLE golden_copies (
		volume     TEXT    PRIMARY KEY,
		source     TEXT    NOT NULL DEFAULT '',
		first_used INTEGER NOT NULL,
		last_used  INTEGER NOT NULL
	);
	CREATE TABLE golden_clones (
		env     TEXT    NOT NULL,
		service TEXT    NOT NULL,
		volume  TEXT    NOT NULL,
		used_at INTEGER NOT NULL,
		PRIMARY KEY (env, service)
	);`,
	// 3: trust records: the user's decisions on what a definition of a
	// repo may do on this machine (its capability list and digest).
	`CREATE TABLE trust (
		id           INTEGER PRIMARY KEY,
		repo         TEXT    NOT NULL,
		definition   TEXT    NOT NULL,
		decision     TEXT    NOT NULL,
		digest       TEXT    NOT NULL DEFAULT '',
		capabilities TEXT,
		how          TEXT    NOT NULL DEFAULT '',
		git_name     TEXT    NOT NULL DEFAULT '',
		git_email    TEXT    NOT NULL DEFAULT '',
		os_user      TEXT    NOT NULL DEFAULT '',
		user_host    TEXT    NOT NULL DEFAULT '',
		decided_at   INTEGER NOT NULL
	);
	CREATE INDEX trust_key ON trust (repo, definition, decided_at DESC, id DESC);`,
	// 4: what a database operation did (service, source, snapshot,
	// strategy), as JSON, beside the plan of the others.
	`ALTER TABLE deployments ADD COLUMN detail TEXT;`,
	// 5: what an environment keeps from one up to the next: its variant,
	// the profiles asked for, and where its published ports were moved
	// (JSON); and the variant each deployment ran.
	`CREATE TABLE env_settings (
		env      TEXT PRIMARY KEY,
		variant  TEXT NOT NULL DEFAULT '',
		profiles TEXT,
		ports    TEXT
	);
	ALTER TABLE deployments ADD COLUMN variant TEXT NOT NULL DEFAULT '';`,
	// Records per engine: each names the engine it belongs to (its ID, and
	// the endpoint it was reached at), so that two engines' environments
	// of one name keep apart. Rows from before have engine '' until the
	// first engine Berth opens the store with claims them (Store.On).
	`ALTER TABLE deployments ADD COLUMN engine TEXT NOT NULL DEFAULT '';
	ALTER TABLE deployments ADD COLUMN engine_endpoint TEXT NOT NULL DEFAULT '';
	CREATE INDEX deployments_engine_env ON deployments (engine, env, started_at DESC, id DESC);
	CREATE TABLE snapshots_v6 (
		id            INTEGER PRIMARY KEY,
		engine        TEXT    NOT NULL DEFAULT '',
		name          TEXT    NOT NULL,
		env           TEXT    NOT NULL,
		service       TEXT    NOT NULL DEFAULT '',
		volume        TEXT    NOT NULL DEFAULT '',
		size          INTEGER NOT NULL DEFAULT 0,
		created_at    INTEGER NOT NULL,
		deployment_id INTEGER REFERENCES deployments (id) ON DELETE SET NULL,
		UNIQUE (engine, env, name)
	);
	INSERT INTO snapshots_v6 (id, name, env, service, volume, size, created_at, deployment_id)
		SELECT id, name, env, service, volume, size, created_at, deployment_id FROM snapshots;
	DROP TABLE snapshots;
	ALTER TABLE snapshots_v6 RENAME TO snapshots;
	CREATE INDEX snapshots_deployment ON snapshots (deployment_id);
	CREATE TABLE golden_copies_v6 (
		engine     TEXT    NOT NULL DEFAULT '',
		volume     TEXT    NOT NULL,
		source     TEXT    NOT NULL DEFAULT '',
		first_used INTEGER NOT NULL,
		last_used  INTEGER NOT NULL,
		PRIMARY KEY (engine, volume)
	);
	INSERT INTO golden_copies_v6 (volume, source, first_used, last_used) SELECT volume, source, first_used, last_used FROM golden_copies;
	DROP TABLE golden_copies;
	ALTER TABLE golden_copies_v6 RENAME TO golden_copies;
	CREATE TABLE golden_clones_v6 (
		engine  TEXT    NOT NULL DEFAULT '',
		env     TEXT    NOT NULL,
		service TEXT    NOT NULL,
		volume  TEXT    NOT NULL,
		used_at INTEGER NOT NULL,
		PRIMARY KEY (engine, env, service)
	);
	INSERT INTO golden_clones_v6 (env, service, volume, used_at) SELECT env, service, volume, used_at FROM golden_clones;
	DROP TABLE golden_clones;
	ALTER TABLE golden_clones_v6 RENAME TO golden_clones;
	CREATE TABLE env_settings_v6 (
		engine   TEXT NOT NULL DEFAULT '',
		env      TEXT NOT NULL,
		variant  TEXT NOT NULL DEFAULT '',
		profiles TEXT,
		ports    TEXT,
		PRIMARY KEY (engine, env)
	);
	INSERT INTO env_settings_v6 (env, variant, profiles, ports) SELECT env, variant, profiles, ports FROM env_settings;
	DROP TABLE env_settings;
	ALTER TABLE env_settings_v6 RENAME TO env_settings;`,
}
