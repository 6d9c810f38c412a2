package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"teleconsole/record"
	"teleconsole/uhiclient"
)

func TestChatKeyCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := runMain(t, "chat-key", "--data-dir", dir)
	if first.code != 0 {
		t.Fatalf("chat-key: %+v", first)
	}
	k, err := uhiclient.ParseChatKey(first.stdout)
	if err != nil {
		t.Fatalf("chat-key printed %q: %v", first.stdout, err)
	}
	// Made once: the same key again, from the file kept (0600, in a 0700 directory).
	if again := runMain(t, "chat-key", "--data-dir", dir); again.stdout != first.stdout {
		t.Errorf("a second key: %q then %q", first.stdout, again.stdout)
	}
	pair, err := uhiclient.LoadOrCreateChatKeyPair(filepath.Join(dir, chatKeyFile))
	if err != nil || pair.Public != k {
		t.Fatalf("key file: %v, %v", pair.Public, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, chatKeyFile): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want %v", path, fi.Mode().Perm(), err, want)
		}
	}
}

func TestHistoryCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 10, 1, 9, 0, 0, 0, time.Local)
	recent := time.Date(2026, 11, 30, 9, 0, 0, 0, time.Local)
	a := s.Begin(record.Patient{Address: "asha@sbx", Name: "Asha K"}, "rao@hpr.ndhm", time.Time{}, old)
	s.End(a, old.Add(5*time.Minute), 4*time.Minute, "ended by doctor", record.Quality{RTTMedian: 40 * time.Millisecond})
	r := s.Begin(record.Patient{Address: "ravi@sbx", Name: "Ravi S"}, "rao@hpr.ndhm", time.Time{}, recent)
	s.AddMessage(record.Message{Consultation: r, ID: "m1", At: recent, Direction: record.In, ContentType: "text", Text: "hello", Status: "received"})
	s.Flush()
	_ = s.Close()

	table := runMain(t, "history", "--data-dir", dir)
	lines := strings.Split(strings.TrimSpace(table.stdout), "\n")
	if table.code != 0 || len(lines) != 3 || !strings.Contains(lines[1], "ravi@sbx") || !strings.Contains(lines[2], "ended by doctor") {
		t.Fatalf("table: %+v", table)
	}
	js := runMain(t, "history", "--data-dir", dir, "--format", "json", "--since", "2026-11-01")
	var list []record.Detail
	if err := json.Unmarshal([]byte(js.stdout), &list); err != nil || len(list) != 1 || list[0].Patient.Address != "ravi@sbx" ||
		len(list[0].ChatLog) != 1 || list[0].ChatLog[0].Text != "hello" {
		t.Fatalf("json --since: %+v, %v", js, err)
	}
	csv := runMain(t, "history", "--data-dir", dir, "--format", "csv", "--patient", "ASHA@sbx")
	if rows := strings.Split(strings.TrimSpace(csv.stdout), "\n"); len(rows) != 2 || !strings.Contains(rows[1], "asha@sbx") || !strings.Contains(rows[1], ",40,") {
		t.Fatalf("csv: %+v", csv)
	}
	if bad := runMain(t, "history", "--data-dir", dir, "--format", "xml"); bad.code != 2 {
		t.Errorf("--format xml: %+v", bad)
	}
	if bad := runMain(t, "history", "--data-dir", dir, "--since", "yesterday"); bad.code != 2 {
		t.Errorf("--since yesterday: %+v", bad)
	}
	forget := runMain(t, "history", "--data-dir", dir, "--forget", "asha@sbx")
	if forget.code != 0 || !strings.Contains(forget.stdout, "forgot 1") {
		t.Fatalf("forget: %+v", forget)
	}
	if left := runMain(t, "history", "--data-dir", dir, "--format", "csv"); strings.Contains(left.stdout, "asha@sbx") {
		t.Errorf("asha still there: %s", left.stdout)
	}
}
