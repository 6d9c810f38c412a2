package record

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openStore(t testing.TB, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var asha = Patient{Address: "asha@sbx", Name: "Asha K", Gender: "F", TransactionID: "txn-1"}

func TestRecordRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	id := s.Begin(asha, "rao@hpr.ndhm", t0.Add(-5*time.Minute), t0)
	s.AddMessage(Message{Consultation: id, ID: "m1", At: t0.Add(time.Second), Direction: In, ContentType: "text",
		Text: "my camera is broken", Encrypted: true, Status: "received"})
	s.AddMessage(Message{Consultation: id, ID: "m2", At: t0.Add(2 * time.Second), Direction: Out, ContentType: "text",
		Text: "send a photo", Encrypted: true, Status: "sending"})
	s.AddMessage(Message{Consultation: id, ID: "m2", Status: "sent"}) // the delivery result
	f := s.AddFile(File{Consultation: id, MessageID: "m3", At: t0.Add(3 * time.Second), Direction: In, Kind: "media",
		Name: "../../rash.jpg", MimeType: "image/jpeg"}, []byte("jpeg bytes"))
	s.SetNotes(id, "rash on the left arm\nreview in a week")
	q := Quality{Setup: 800 * time.Millisecond, RTTMedian: 30 * time.Millisecond, RTTWorst: 90 * time.Millisecond,
		LossPercent: 0.5, BitrateIn: 500_000, BitrateOut: 600_000, AudioOnly: 3 * time.Second, Reconnects: 1}
	s.End(id, t0.Add(10*time.Minute), 9*time.Minute, "doctor hung up", q)
	s.Flush()

	if !strings.HasPrefix(f.Path, filepath.Join(dir, "files", id)) || strings.Contains(filepath.Base(f.Path), "..") {
		t.Fatalf("file kept at %s", f.Path)
	}
	if b, err := os.ReadFile(f.Path); err != nil || string(b) != "jpeg bytes" {
		t.Fatalf("kept file: %q, %v", b, err)
	}
	d, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Patient != asha || d.Doctor != "rao@hpr.ndhm" || !d.Started.Equal(t0) || !d.Listed.Equal(t0.Add(-5*time.Minute)) ||
		d.Length != 9*time.Minute || d.EndReason != "doctor hung up" || d.State != StateEnded || d.Quality != q {
		t.Errorf("consultation %+v", d.Consultation)
	}
	if len(d.ChatLog) != 2 || d.ChatLog[0].Text != "my camera is broken" || d.ChatLog[1].Status != "sent" || d.ChatLog[1].Direction != Out {
		t.Errorf("chat %+v", d.ChatLog)
	}
	sum := sha256.Sum256([]byte("jpeg bytes"))
	if len(d.FileList) != 1 || f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != 10 {
		t.Fatalf("files %+v, kept %+v", d.FileList, f)
	}
	if g := d.FileList[0]; g.Path != f.Path || g.SHA256 != f.SHA256 || g.Name != "../../rash.jpg" || g.Direction != In ||
		g.MimeType != "image/jpeg" || g.MessageID != "m3" || !g.At.Equal(f.At) {
		t.Errorf("file read back %+v, want %+v", g, f)
	}
	if d.Notes != "rash on the left arm\nreview in a week" {
		t.Errorf("notes %q", d.Notes)
	}
	if _, err := s.Get(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(nope) = %v", err)
	}
}

func TestRecordFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := openStore(t, dir)
	id := s.Begin(asha, "rao@hpr.ndhm", time.Time{}, time.Now())
	s.AddFile(File{Consultation: id, Kind: "media", Name: "rx.pdf", At: time.Now()}, []byte("%PDF"))
	s.Flush()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName+"-wal")); err != nil {
		t.Errorf("no WAL file: %v", err)
	}
}

func TestRecordListAndForget(t *testing.T) {
	s := openStore(t, t.TempDir())
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ravi := Patient{Address: "ravi@sbx", Name: "Ravi"}
	var ids []string
	for i := range 4 {
		p := asha
		if i%2 == 1 {
			p = ravi
		}
		id := s.Begin(p, "rao@hpr.ndhm", time.Time{}, t0.Add(time.Duration(i)*time.Hour))
		s.AddFile(File{Consultation: id, Kind: "media", Name: "x.png", At: t0}, []byte{byte(i)})
		ids = append(ids, id)
	}
	s.Flush()
	ctx := context.Background()
	all, err := s.List(ctx, Filter{})
	if err != nil || len(all) != 4 || all[0].ID != ids[3] || all[3].ID != ids[0] || all[0].Files != 1 {
		t.Fatalf("List = %+v, %v", all, err)
	}
	mine, _ := s.List(ctx, Filter{Patient: "ASHA@sbx"})
	if len(mine) != 2 || mine[0].ID != ids[2] || mine[1].ID != ids[0] {
		t.Errorf("asha's: %+v", mine)
	}
	late, _ := s.List(ctx, Filter{Since: t0.Add(2 * time.Hour)})
	if len(late) != 2 {
		t.Errorf("since: %+v", late)
	}
	n, err := s.Forget(ctx, "asha@sbx")
	if err != nil || n != 2 {
		t.Fatalf("Forget = %d, %v", n, err)
	}
	left, _ := s.List(ctx, Filter{})
	if len(left) != 2 || left[0].Patient.Address != "ravi@sbx" {
		t.Errorf("after Forget: %+v", left)
	}
	for _, id := range []string{ids[0], ids[2]} {
		if _, err := os.Stat(filepath.Join(s.Dir(), "files", id)); !os.IsNotExist(err) {
			t.Errorf("asha's files still there: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "files", ids[1])); err != nil {
		t.Errorf("ravi's files gone: %v", err)
	}
}

// TestRecordListPages reads a history of more than a page a page at a
// time, each from where the last ended, and gets every consultation once,
// in order, ties of start time included, with a consultation begun between
// two pages neither repeating nor shifting what follows.
func TestRecordListPages(t *testing.T) {
	s := openStore(t, t.TempDir())
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const n = 2*HistoryPage + 37
	for i := range n {
		// Three at each start: the id breaks the tie.
		s.Begin(Patient{Address: fmt.Sprintf("p%d@sbx", i%7)}, "rao@hpr.ndhm", time.Time{}, t0.Add(time.Duration(i/3)*time.Minute))
	}
	s.Flush()
	ctx := context.Background()
	all, err := s.List(ctx, Filter{})
	if err != nil || len(all) != n {
		t.Fatalf("List = %d, %v", len(all), err)
	}
	var got []Consultation
	var before Cursor
	for page := 0; ; page++ {
		list, err := s.List(ctx, Filter{Limit: HistoryPage, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, list...)
		if len(list) < HistoryPage {
			break
		}
		before = list[len(list)-1].Cursor()
		if page == 0 {
			// A new consultation, newest of all, while the doctor scrolls.
			s.Begin(asha, "rao@hpr.ndhm", time.Time{}, t0.Add(time.Hour*24))
			s.Flush()
		}
	}
	if len(got) != n {
		t.Fatalf("%d read in pages, want %d", len(got), n)
	}
	for i := range got {
		if got[i].ID != all[i].ID {
			t.Fatalf("page order differs from List's at %d: %s, want %s", i, got[i].ID, all[i].ID)
		}
	}
	mine, _ := s.List(ctx, Filter{Patient: "p3@sbx", Limit: 10, Before: all[100].Cursor()})
	for _, c := range mine {
		if c.Patient.Address != "p3@sbx" || !c.Started.Before(all[100].Started) && c.Started != all[100].Started {
			t.Errorf("filtered page has %+v", c)
		}
	}
	if len(mine) != 10 {
		t.Errorf("filtered page of %d, want 10", len(mine))
	}
}

// TestRecordMigrations opens stores left at every earlier schema version,
// with a consultation in each, and finds them migrated with the row kept.
func TestRecordMigrations(t *testing.T) {
	for v := 0; v <= len(migrations); v++ {
		t.Run(fmt.Sprintf("from%d", v), func(t *testing.T) {
			dir := t.TempDir()
			db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
			if err != nil {
				t.Fatal(err)
			}
			for i := range v {
				if _, err := db.Exec(migrations[i]); err != nil {
					t.Fatal(err)
				}
			}
			if v > 0 {
				if _, err := db.Exec(`INSERT INTO consultations (id, patient_address, started_ns, activity_ns, state)
					VALUES ('old', 'asha@sbx', 1, 1, 'ended')`); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
				t.Fatal(err)
			}
			_ = db.Close()
			s := openStore(t, dir)
			var got int
			if err := s.db.QueryRow("PRAGMA user_version").Scan(&got); err != nil || got != SchemaVersion() {
				t.Fatalf("version %d, %v", got, err)
			}
			list, err := s.List(context.Background(), Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if (v > 0) != (len(list) == 1) {
				t.Fatalf("from %d: %+v", v, list)
			}
			// The current schema takes every write.
			id := s.Begin(asha, "rao@hpr.ndhm", time.Time{}, time.Now())
			s.SetNotes(id, "n")
			s.AddFile(File{Consultation: id, Kind: "snapshot", Name: "s.png", At: time.Now()}, []byte{1})
			s.Flush()
			if d, err := s.Get(context.Background(), id); err != nil || d.Notes != "n" || len(d.FileList) != 1 {
				t.Fatalf("after migration: %+v, %v", d, err)
			}
		})
	}
	// A newer store is refused, not damaged.
	dir := t.TempDir()
	db, _ := sql.Open("sqlite", filepath.Join(dir, FileName))
	_, _ = db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1))
	_ = db.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}

// TestRecordConcurrentReaders reads while a call writes: WAL lets readers
// go on, and every read sees a whole write.
func TestRecordConcurrentReaders(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := s.Begin(asha, "rao@hpr.ndhm", time.Time{}, time.Now())
	s.Flush()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			last := 0
			for ctx.Err() == nil {
				d, err := s.Get(ctx, id)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if len(d.ChatLog) < last {
					errs <- fmt.Errorf("chat went back from %d to %d messages", last, len(d.ChatLog))
					return
				}
				last = len(d.ChatLog)
			}
		})
	}
	for i := range 500 {
		s.AddMessage(Message{Consultation: id, ID: fmt.Sprint(i), At: time.Now(), Direction: In, ContentType: "text", Text: "x", Status: "received"})
		if i%50 == 0 {
			s.Flush()
		}
	}
	s.Flush()
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	d, _ := s.Get(context.Background(), id)
	if len(d.ChatLog) != 500 {
		t.Errorf("%d messages, want 500", len(d.ChatLog))
	}
}

// The crash child: opens the store, begins a consultation, says "ready"
// once the first messages are on disk, and writes messages until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RECORD_CRASH_CHILD"); dir != "" {
		s, err := Open(dir)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		id := s.Begin(asha, "rao@hpr.ndhm", time.Time{}, time.Now())
		for i := 0; ; i++ {
			s.AddMessage(Message{Consultation: id, ID: fmt.Sprint(i), At: time.Now(), Direction: In, ContentType: "text",
				Text: strings.Repeat("x", 2000), Status: "received"})
			if i == 10 {
				s.Flush()
				fmt.Println("ready", id)
			}
		}
	}
	os.Exit(m.Run())
}

// TestRecordCrashMidWrite kills a process while it writes (SIGKILL, no
// chance to close) and finds the store readable, the consultation marked
// interrupted and what was written before the kill kept.
func TestRecordCrashMidWrite(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RECORD_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready ") {
		_ = cmd.Process.Kill()
		t.Fatalf("child said %q, %v", line, err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(line, "ready "))
	time.Sleep(200 * time.Millisecond) // let it be mid-write
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	s := openStore(t, dir)
	var check string
	if err := s.db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	d, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != StateInterrupted || len(d.ChatLog) < 11 {
		t.Fatalf("after the kill: state %v, %d messages", d.State, len(d.ChatLog))
	}
}

// BenchmarkHistoryOpen10k is the history's query with 10,000
// consultations stored: all of them (teleconsole history), the first
// page the history screen opens with, and a page far down.
func BenchmarkHistoryOpen10k(b *testing.B) {
	s := fill10k(b)
	ctx := context.Background()
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			list, err := s.List(ctx, Filter{})
			if err != nil || len(list) != 10000 {
				b.Fatalf("%d, %v", len(list), err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			list, err := s.List(ctx, Filter{Limit: HistoryPage})
			if err != nil || len(list) != HistoryPage {
				b.Fatalf("%d, %v", len(list), err)
			}
		}
	})
	// The page after the 9,000th, as the doctor scrolling far reads it.
	all, err := s.List(ctx, Filter{})
	if err != nil {
		b.Fatal(err)
	}
	before := all[9000].Cursor()
	b.Run("page-deep", func(b *testing.B) {
		for b.Loop() {
			list, err := s.List(ctx, Filter{Limit: HistoryPage, Before: before})
			if err != nil || len(list) != HistoryPage || list[0].ID != all[9001].ID {
				b.Fatalf("%d, %v", len(list), err)
			}
		}
	})
}

func fill10k(b *testing.B) *Store {
	s := openStore(b, b.TempDir())
	t0 := time.Now().Add(-10000 * time.Hour)
	for i := range 10000 {
		id := s.Begin(Patient{Address: fmt.Sprintf("p%d@sbx", i%500), Name: "P"}, "rao@hpr.ndhm", time.Time{}, t0.Add(time.Duration(i)*time.Hour))
		s.AddMessage(Message{Consultation: id, ID: "m", At: t0, Direction: In, ContentType: "text", Text: "hi", Status: "received"})
		s.End(id, t0.Add(time.Duration(i)*time.Hour+time.Minute), time.Minute, "doctor hung up", Quality{})
	}
	s.Flush()
	return s
}

// TestRecordOneWriter: a second console on the same data directory is
// refused; a reader beside the running console (teleconsole history) is
// not, and leaves the console's open consultation open.
func TestRecordOneWriter(t *testing.T) {
	dir := t.TempDir()
	w := openStore(t, dir)
	id := w.Begin(asha, "rao@hpr.ndhm", time.Time{}, time.Now())
	w.Flush()
	if _, err := Open(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("a second writer: %v, want ErrInUse", err)
	}
	r, err := Open(dir, Shared())
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Get(context.Background(), id)
	if err != nil || d.State != StateOpen {
		t.Fatalf("beside the writer: %v, %v; want open", d.State, err)
	}
	_ = r.Close()
	// Once the writer is gone without ending it, the next open marks it.
	_ = w.Close()
	r, err = Open(dir, Shared())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if d, _ := r.Get(context.Background(), id); d.State != StateInterrupted {
		t.Errorf("after the writer: %v, want interrupted", d.State)
	}
}
