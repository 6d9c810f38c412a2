package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound means no consultation has the id asked for.
var ErrNotFound = errors.New("record: no such consultation")

// HistoryPage is how many consultations the history screen reads at a
// time: the newest first, the rest as the doctor scrolls.
const HistoryPage = 200

// Filter chooses consultations for List.
type Filter struct {
	// Patient keeps one patient's (their address, case-insensitive), when set.
	Patient string
	// Since keeps those started at or after it, when set.
	Since time.Time
	// Limit is how many at most (0: all).
	Limit int
	// Before keeps those listed after the consultation it names, in
	// List's order, when set: the next page after the last one read.
	Before Cursor
}

// Cursor names a place in the history's order (newest first): a
// consultation's start and id, which break a tie between two starts.
type Cursor struct {
	Started time.Time
	ID      string
}

// IsZero reports whether c names no place: the history's start.
func (c Cursor) IsZero() bool { return c.ID == "" && c.Started.IsZero() }

// Cursor is the place of c in the history, for the page after it.
func (c Consultation) Cursor() Cursor { return Cursor{Started: c.Started, ID: c.ID} }

const consultationColumns = `c.id, c.patient_address, c.patient_name, c.patient_gender, c.transaction_id, c.doctor,
	c.listed_ns, c.started_ns, c.call_started_ns, c.ended_ns, c.activity_ns, c.length_ns, c.end_reason, c.state,
	c.setup_ns, c.rtt_median_ns, c.rtt_worst_ns, c.loss_percent, c.bitrate_in, c.bitrate_out, c.audio_only_ns, c.reconnects,
	coalesce(m.n, 0), coalesce(f.n, 0)`

// consultationFrom joins each consultation to its counts of messages and
// files, counted once per table rather than once per row.
const consultationFrom = ` FROM consultations c
	LEFT JOIN (SELECT consultation_id, count(*) AS n FROM messages GROUP BY consultation_id) m ON m.consultation_id = c.id
	LEFT JOIN (SELECT consultation_id, count(*) AS n FROM files GROUP BY consultation_id) f ON f.consultation_id = c.id`

// List returns consultations, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Consultation, error) {
	q := `SELECT ` + consultationColumns + consultationFrom + ` WHERE 1=1`
	var args []any
	if f.Patient != "" {
		q += ` AND c.patient_address = ? COLLATE NOCASE`
		args = append(args, strings.TrimSpace(f.Patient))
	}
	if !f.Since.IsZero() {
		q += ` AND c.started_ns >= ?`
		args = append(args, f.Since.UnixNano())
	}
	if !f.Before.IsZero() {
		// A page goes on from where the last ended, however many
		// consultations began meanwhile (keyset, not OFFSET: no row
		// is read twice or skipped, and the index takes it there).
		n := nanos(f.Before.Started)
		q += ` AND (c.started_ns < ? OR (c.started_ns = ? AND c.id < ?))`
		args = append(args, n, n, f.Before.ID)
	}
	q += ` ORDER BY c.started_ns DESC, c.id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("record: list: %w", err)
	}
	defer rows.Close()
	var out []Consultation
	for rows.Next() {
		c, err := scanConsultation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record: list: %w", err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanConsultation(r scanner) (Consultation, error) {
	var c Consultation
	var listed, started, callStarted, ended, activity, length int64
	var state string
	q := &c.Quality
	err := r.Scan(&c.ID, &c.Patient.Address, &c.Patient.Name, &c.Patient.Gender, &c.Patient.TransactionID, &c.Doctor,
		&listed, &started, &callStarted, &ended, &activity, &length, &c.EndReason, &state,
		(*int64)(&q.Setup), (*int64)(&q.RTTMedian), (*int64)(&q.RTTWorst), &q.LossPercent, &q.BitrateIn, &q.BitrateOut,
		(*int64)(&q.AudioOnly), &q.Reconnects, &c.Messages, &c.Files)
	if err != nil {
		return c, fmt.Errorf("record: read consultation: %w", err)
	}
	c.Listed, c.Started, c.CallStarted = fromNanos(listed), fromNanos(started), fromNanos(callStarted)
	c.Ended, c.LastActivity = fromNanos(ended), fromNanos(activity)
	c.Length = time.Duration(length)
	c.State = parseState(state)
	c.StateName = c.State.String()
	return c, nil
}

// Get returns one consultation with its chat, files and notes.
func (s *Store) Get(ctx context.Context, id string) (Detail, error) {
	var d Detail
	c, err := scanConsultation(s.db.QueryRowContext(ctx, `SELECT `+consultationColumns+consultationFrom+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return d, err
	}
	d.Consultation = c
	rows, err := s.db.QueryContext(ctx, `SELECT message_id, at_ns, direction, content_type, body, encrypted, status
		FROM messages WHERE consultation_id = ? ORDER BY at_ns, rowid`, id)
	if err != nil {
		return d, fmt.Errorf("record: chat: %w", err)
	}
	for rows.Next() {
		m := Message{Consultation: id}
		var at int64
		var dir string
		if err := rows.Scan(&m.ID, &at, &dir, &m.ContentType, &m.Text, &m.Encrypted, &m.Status); err != nil {
			rows.Close()
			return d, fmt.Errorf("record: chat: %w", err)
		}
		m.At, m.Direction = fromNanos(at), Direction(dir)
		d.ChatLog = append(d.ChatLog, m)
	}
	rows.Close()
	rows, err = s.db.QueryContext(ctx, `SELECT message_id, at_ns, direction, kind, name, mime_type, size, sha256, path
		FROM files WHERE consultation_id = ? ORDER BY at_ns, rowid`, id)
	if err != nil {
		return d, fmt.Errorf("record: files: %w", err)
	}
	for rows.Next() {
		f := File{Consultation: id}
		var at int64
		var dir string
		if err := rows.Scan(&f.MessageID, &at, &dir, &f.Kind, &f.Name, &f.MimeType, &f.Size, &f.SHA256, &f.Path); err != nil {
			rows.Close()
			return d, fmt.Errorf("record: files: %w", err)
		}
		f.At, f.Direction = fromNanos(at), Direction(dir)
		d.FileList = append(d.FileList, f)
	}
	rows.Close()
	err = s.db.QueryRowContext(ctx, `SELECT body FROM notes WHERE consultation_id = ?`, id).Scan(&d.Notes)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("record: notes: %w", err)
	}
	return d, nil
}

// Forget deletes every record of one patient (address, case-insensitive)
// and their files, and returns how many consultations it deleted. It waits
// for the writes queued before it.
func (s *Store) Forget(ctx context.Context, address string) (int, error) {
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	s.enqueue(func(tx *sql.Tx) error {
		n, err := forget(tx, s.dir, strings.TrimSpace(address))
		done <- result{n, err}
		return err
	})
	select {
	case r := <-done:
		// done comes from inside the writer's transaction: the caller
		// reads the store next, and must find the records gone.
		s.Flush()
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func forget(tx *sql.Tx, dir, address string) (int, error) {
	rows, err := tx.Query(`SELECT id FROM consultations WHERE patient_address = ? COLLATE NOCASE`, address)
	if err != nil {
		return 0, fmt.Errorf("record forget: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("record forget: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if _, err := tx.Exec(`DELETE FROM consultations WHERE patient_address = ? COLLATE NOCASE`, address); err != nil {
		return 0, fmt.Errorf("record forget: %w", err)
	}
	for _, id := range ids {
		if err := os.RemoveAll(filepath.Join(dir, filesDir, id)); err != nil {
			return 0, fmt.Errorf("record forget: %w", err)
		}
	}
	return len(ids), nil
}
