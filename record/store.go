package record

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database's name in the data directory.
const FileName = "consultations.db"

// filesDir is where files are kept, one folder per consultation.
const filesDir = "files"

// lockName is the file the console holds locked while it writes.
const lockName = "consultations.lock"

// ErrClosed means the store was closed.
var ErrClosed = errors.New("record: store closed")

// ErrInUse means another console writes to the store in this directory.
var ErrInUse = errors.New("record: another teleconsole is using this data directory")

// Store is the consultations' record. Its methods are safe for concurrent
// use. The write methods (Begin, End, AddMessage, AddFile, SetNotes...)
// return at once: the write is queued for the store's one writer
// goroutine, and a failure reaches the error handler (WithErrorHandler).
type Store struct {
	db      *sql.DB
	dir     string
	lock    *os.File // held while open: this process is the writer, or no console runs
	shared  bool
	log     *slog.Logger
	now     func() time.Time
	onError func(error)

	mu      sync.Mutex
	queue   []func(*sql.Tx) error
	closed  bool
	wake    chan struct{} // one pending wake-up for the writer
	flushed *sync.Cond    // signalled when the queue is written
	writing bool
	done    chan struct{} // closed when the writer has stopped
}

// Option configures a Store.
type Option func(*Store) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) error {
		if l == nil {
			return errors.New("record: nil logger")
		}
		s.log = l
		return nil
	}
}

// WithClock sets the clock for the times the store stamps itself.
func WithClock(now func() time.Time) Option {
	return func(s *Store) error {
		if now == nil {
			return errors.New("record: nil clock")
		}
		s.now = now
		return nil
	}
}

// Shared opens the store beside a console that may be running, for reading
// (teleconsole history): it is not refused when a console holds the store,
// and then leaves that console's open consultations as they are.
func Shared() Option {
	return func(s *Store) error {
		s.shared = true
		return nil
	}
}

// WithErrorHandler sets what is called, on the writer goroutine, when a
// queued write fails. The console shows it to the doctor.
func WithErrorHandler(f func(error)) Option {
	return func(s *Store) error {
		s.onError = f
		return nil
	}
}

// Open opens (or makes) the store in dir: the directory readable by the
// user alone, the database 0600 (SQLite gives its -wal and -shm files the
// database's mode), migrated to the current schema. Consultations left open
// by a console that did not close the store are marked interrupted.
func Open(dir string, opts ...Option) (*Store, error) {
	s := &Store{dir: dir, log: slog.New(slog.DiscardHandler), now: time.Now,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.flushed = sync.NewCond(&s.mu)
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if err := MkdirPrivate(dir); err != nil {
		return nil, err
	}
	// The console holds a lock on the store while it runs, so that an
	// open consultation is known to be interrupted only when no console
	// holds it: the kernel lets go of a killed process's lock.
	locked, err := s.takeLock()
	if err != nil {
		return nil, err
	}
	if !locked && !s.shared {
		return nil, fmt.Errorf("%w: %s", ErrInUse, dir)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, s.unlock(fmt.Errorf("record: %w", err))
	}
	_ = f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, s.unlock(fmt.Errorf("record: %w", err))
	}
	// busy_timeout: a second process (teleconsole history while the
	// console runs) waits for a lock rather than failing at once.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, s.unlock(fmt.Errorf("record: %w", err))
	}
	s.db = db
	if err := s.migrate(); err != nil {
		s.closeFiles()
		return nil, err
	}
	if locked {
		if n, err := s.interruptOpen(); err != nil {
			s.closeFiles()
			return nil, err
		} else if n > 0 {
			s.log.Warn("consultations left open by a console that stopped: marked interrupted", "count", n)
		}
	}
	go s.writer()
	return s, nil
}

// Dir is the data directory the store is in.
func (s *Store) Dir() string { return s.dir }

// SchemaVersion is the schema version the store's code writes.
func SchemaVersion() int { return len(migrations) }

func (s *Store) migrate() error {
	var v int
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("record: schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("record: the store's schema is version %d, newer than this teleconsole's %d", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.Begin()
		if err != nil {
			return fmt.Errorf("record: migrate to %d: %w", i+1, err)
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("record: migrate to %d: %w", i+1, err)
		}
		// PRAGMA takes no parameters; i+1 is ours.
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("record: migrate to %d: %w", i+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("record: migrate to %d: %w", i+1, err)
		}
	}
	return nil
}

func (s *Store) interruptOpen() (int64, error) {
	res, err := s.db.Exec(`UPDATE consultations SET state = ? WHERE state = ?`, StateInterrupted.String(), StateOpen.String())
	if err != nil {
		return 0, fmt.Errorf("record: mark interrupted: %w", err)
	}
	return res.RowsAffected()
}

// enqueue hands a write to the writer goroutine without waiting for it.
func (s *Store) enqueue(op func(*sql.Tx) error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.fail(ErrClosed)
		return
	}
	s.queue = append(s.queue, op)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// writer writes what is queued, all that has gathered in one transaction,
// until Close.
func (s *Store) writer() {
	defer close(s.done)
	for {
		<-s.wake
		s.mu.Lock()
		ops := s.queue
		s.queue = nil
		closed := s.closed
		s.writing = len(ops) > 0
		s.mu.Unlock()
		if len(ops) > 0 {
			s.write(ops)
		}
		s.mu.Lock()
		s.writing = false
		s.flushed.Broadcast()
		s.mu.Unlock()
		if closed {
			return
		}
	}
}

func (s *Store) write(ops []func(*sql.Tx) error) {
	tx, err := s.db.Begin()
	if err != nil {
		s.fail(fmt.Errorf("record: %w", err))
		return
	}
	for _, op := range ops {
		// One failed write (a file that cannot be written) must not lose
		// the others: each runs in a savepoint.
		if _, err := tx.Exec("SAVEPOINT op"); err != nil {
			s.fail(fmt.Errorf("record: %w", err))
			continue
		}
		if err := op(tx); err != nil {
			_, _ = tx.Exec("ROLLBACK TO op")
			s.fail(err)
		}
		_, _ = tx.Exec("RELEASE op")
	}
	if err := tx.Commit(); err != nil {
		s.fail(fmt.Errorf("record: %w", err))
	}
}

func (s *Store) fail(err error) {
	s.log.Error("record write failed", "err", err)
	if s.onError != nil {
		s.onError(err)
	}
}

// Flush waits until everything queued so far is written.
func (s *Store) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for (len(s.queue) > 0 || s.writing) && !s.closedAndDone() {
		s.flushed.Wait()
	}
}

func (s *Store) closedAndDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Close writes what is queued and closes the database. Consultations still
// open are left open: the console ends them first (End), and one that was
// not ended is marked interrupted at the next Open.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	err := s.db.Close()
	if s.lock != nil {
		_ = s.lock.Close() // and with it the lock
	}
	return err
}

// unlock lets go of the lock after a failed Open, and returns err.
func (s *Store) unlock(err error) error {
	if s.lock != nil {
		_ = s.lock.Close()
	}
	return err
}

// takeLock takes the store's lock if no other process holds it.
func (s *Store) takeLock() (bool, error) {
	f, err := os.OpenFile(filepath.Join(s.dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return false, fmt.Errorf("record: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("record: lock: %w", err)
	}
	s.lock = f
	return true, nil
}

// CallStarted records when the doctor called.
func (s *Store) CallStarted(id string, at time.Time) {
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE consultations SET call_started_ns = ? WHERE id = ?`, nanos(at), id)
		if err == nil {
			err = touch(tx, id, at)
		}
		return wrap("call", err)
	})
}

// Begin opens a consultation's record, as the doctor calls or as the first
// chat message comes or goes, and returns its id for the writes that
// follow.
func (s *Store) Begin(p Patient, doctor string, listed, started time.Time) string {
	id := uuid.NewString()
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO consultations (id, patient_address, patient_name, patient_gender,
			transaction_id, doctor, listed_ns, started_ns, activity_ns, state) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			id, p.Address, p.Name, p.Gender, p.TransactionID, doctor, nanos(listed), nanos(started), nanos(started), StateOpen.String())
		return wrap("begin", err)
	})
	return id
}

// End records how the consultation's call ended.
func (s *Store) End(id string, ended time.Time, length time.Duration, reason string, q Quality) {
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE consultations SET ended_ns = ?, activity_ns = ?, length_ns = ?, end_reason = ?,
			state = ? WHERE id = ?`, nanos(ended), nanos(ended), int64(length), reason, StateEnded.String(), id)
		if err == nil {
			err = setQuality(tx, id, q)
		}
		return wrap("end", err)
	})
}

// SetQuality records the call's quality so far, so that a consultation
// interrupted by a crash keeps it.
func (s *Store) SetQuality(id string, q Quality) {
	at := s.now()
	s.enqueue(func(tx *sql.Tx) error {
		err := setQuality(tx, id, q)
		if err == nil {
			err = touch(tx, id, at)
		}
		return wrap("quality", err)
	})
}

func setQuality(tx *sql.Tx, id string, q Quality) error {
	_, err := tx.Exec(`UPDATE consultations SET setup_ns = ?, rtt_median_ns = ?, rtt_worst_ns = ?, loss_percent = ?,
		bitrate_in = ?, bitrate_out = ?, audio_only_ns = ?, reconnects = ? WHERE id = ?`,
		int64(q.Setup), int64(q.RTTMedian), int64(q.RTTWorst), q.LossPercent, q.BitrateIn, q.BitrateOut,
		int64(q.AudioOnly), q.Reconnects, id)
	return err
}

// AddMessage records a chat message, or its new delivery result when one
// with its id is already recorded.
func (s *Store) AddMessage(m Message) {
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO messages (consultation_id, message_id, at_ns, direction, content_type, body, encrypted, status)
			VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (consultation_id, message_id) DO UPDATE SET status = excluded.status`,
			m.Consultation, m.ID, nanos(m.At), string(m.Direction), m.ContentType, m.Text, m.Encrypted, m.Status)
		if err == nil {
			err = touch(tx, m.Consultation, m.At)
		}
		return wrap("message", err)
	})
}

// AddFile keeps data under the data directory and records it; f says what
// it is (Consultation, Name, Kind, Direction...). It returns f with Size,
// SHA256 and Path filled: the file is written by the writer goroutine,
// before its row.
func (s *Store) AddFile(f File, data []byte) File {
	sum := sha256.Sum256(data)
	f.SHA256, f.Size = hex.EncodeToString(sum[:]), int64(len(data))
	f.Path = filepath.Join(s.dir, filesDir, f.Consultation, f.SHA256[:16]+"-"+safeName(f.Name))
	s.enqueue(func(tx *sql.Tx) error {
		if err := MkdirPrivate(filepath.Dir(f.Path)); err != nil {
			return wrap("file", err)
		}
		if err := writeFileSync(f.Path, data); err != nil {
			return wrap("file", err)
		}
		_, err := tx.Exec(`INSERT INTO files (consultation_id, message_id, at_ns, direction, kind, name, mime_type, size, sha256, path)
			VALUES (?,?,?,?,?,?,?,?,?,?)`, f.Consultation, f.MessageID, nanos(f.At), string(f.Direction), f.Kind, f.Name,
			f.MimeType, f.Size, f.SHA256, f.Path)
		if err == nil {
			err = touch(tx, f.Consultation, f.At)
		}
		return wrap("file", err)
	})
	return f
}

// SetNotes records the doctor's notes for a consultation, replacing the
// earlier text.
func (s *Store) SetNotes(id, text string) {
	at := s.now()
	s.enqueue(func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO notes (consultation_id, body, updated_ns) VALUES (?,?,?)
			ON CONFLICT (consultation_id) DO UPDATE SET body = excluded.body, updated_ns = excluded.updated_ns`, id, text, nanos(at))
		if err == nil {
			err = touch(tx, id, at)
		}
		return wrap("notes", err)
	})
}

func touch(tx *sql.Tx, id string, at time.Time) error {
	_, err := tx.Exec(`UPDATE consultations SET activity_ns = max(activity_ns, ?) WHERE id = ?`, nanos(at), id)
	return err
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("record %s: %w", what, err)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// safeName keeps a received file's name usable as the last part of a path:
// no separators, no leading dots, at most 80 bytes.
func safeName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '/' || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	if name == "" {
		name = "file"
	}
	return name
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
