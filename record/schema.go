package record

// migrations are the schema, one step per version: the store's
// PRAGMA user_version is how many have been applied. A step is never
// changed once released; a change of schema is a new step.
var migrations = []string{
	// 1: consultations and their chat.
	`CREATE TABLE consultations (
		id              TEXT PRIMARY KEY,
		patient_address TEXT NOT NULL,
		patient_name    TEXT NOT NULL DEFAULT '',
		patient_gender  TEXT NOT NULL DEFAULT '',
		transaction_id  TEXT NOT NULL DEFAULT '',
		doctor          TEXT NOT NULL DEFAULT '',
		listed_ns       INTEGER NOT NULL DEFAULT 0,
		started_ns      INTEGER NOT NULL,
		call_started_ns INTEGER NOT NULL DEFAULT 0,
		ended_ns        INTEGER NOT NULL DEFAULT 0,
		activity_ns     INTEGER NOT NULL,
		length_ns       INTEGER NOT NULL DEFAULT 0,
		end_reason      TEXT NOT NULL DEFAULT '',
		state           TEXT NOT NULL
	);
	CREATE INDEX consultations_started ON consultations (started_ns DESC);
	CREATE INDEX consultations_patient ON consultations (patient_address, started_ns DESC);
	CREATE TABLE messages (
		consultation_id TEXT NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
		message_id      TEXT NOT NULL,
		at_ns           INTEGER NOT NULL,
		direction       TEXT NOT NULL,
		content_type    TEXT NOT NULL,
		body            TEXT NOT NULL,
		encrypted       INTEGER NOT NULL DEFAULT 0,
		status          TEXT NOT NULL,
		PRIMARY KEY (consultation_id, message_id)
	);`,
	// 2: the call's quality, files, and the doctor's notes.
	`ALTER TABLE consultations ADD COLUMN setup_ns INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN rtt_median_ns INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN rtt_worst_ns INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN loss_percent REAL NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN bitrate_in INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN bitrate_out INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN audio_only_ns INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE consultations ADD COLUMN reconnects INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE files (
		consultation_id TEXT NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
		message_id      TEXT NOT NULL DEFAULT '',
		at_ns           INTEGER NOT NULL,
		direction       TEXT NOT NULL DEFAULT '',
		kind            TEXT NOT NULL,
		name            TEXT NOT NULL,
		mime_type       TEXT NOT NULL DEFAULT '',
		size            INTEGER NOT NULL,
		sha256          TEXT NOT NULL,
		path            TEXT NOT NULL
	);
	CREATE INDEX files_consultation ON files (consultation_id, at_ns);
	CREATE TABLE notes (
		consultation_id TEXT PRIMARY KEY REFERENCES consultations (id) ON DELETE CASCADE,
		body            TEXT NOT NULL,
		updated_ns      INTEGER NOT NULL
	);`,
	// 3: the doctor's appointments and the claims on slots
	// (docs/booking.md §3). An order is kept whole as JSON beside the
	// columns it is found by; rev is its compare-and-set revision. A
	// claim's until_ns is 0 once it is kept.
	`CREATE TABLE booking_orders (
		id             TEXT PRIMARY KEY,
		doctor         TEXT NOT NULL,
		transaction_id TEXT NOT NULL DEFAULT '',
		start_ns       INTEGER NOT NULL,
		created_ns     INTEGER NOT NULL,
		rev            INTEGER NOT NULL,
		body           TEXT NOT NULL
	);
	CREATE INDEX booking_orders_day ON booking_orders (doctor, start_ns);
	CREATE INDEX booking_orders_transaction ON booking_orders (doctor, transaction_id, created_ns DESC);
	CREATE TABLE booking_claims (
		slot_id  TEXT PRIMARY KEY,
		order_id TEXT NOT NULL,
		until_ns INTEGER NOT NULL
	);`,
}
