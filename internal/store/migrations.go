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
}
