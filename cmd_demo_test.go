package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The demo records in a directory of its own in the user's cache, emptied
// at the next demo; a demo running meanwhile keeps its own, and the second
// is refused with what to do instead.
func TestDemoDataDir(t *testing.T) {
	cache := t.TempDir()
	env := map[string]string{"XDG_CACHE_HOME": cache, "HOME": "/nonexistent"}
	getenv := func(k string) string { return env[k] }
	dir, release, err := demoDataDir(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "teleconsole", "demo"); dir != want {
		t.Errorf("demo directory %s, want %s", dir, want)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("demo directory: %v, %v; want private", fi, err)
	}
	last := filepath.Join(dir, "consultations.db")
	if err := os.WriteFile(last, []byte("the last demo's record"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := demoDataDir(getenv); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("a second demo while the first runs: %v, want refused, saying --data-dir", err)
	}
	if _, err := os.Stat(last); err != nil {
		t.Errorf("the running demo's record went: %v", err)
	}
	release()
	dir2, release2, err := demoDataDir(getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if dir2 != dir {
		t.Errorf("the next demo's directory %s, want %s again", dir2, dir)
	}
	if _, err := os.Stat(last); !os.IsNotExist(err) {
		t.Errorf("the last demo's record is still there at the next demo: %v", err)
	}
	// Without XDG_CACHE_HOME: ~/.cache.
	home := t.TempDir()
	env = map[string]string{"HOME": home}
	dir3, release3, err := demoDataDir(getenv)
	if err != nil {
		t.Fatal(err)
	}
	release3()
	if want := filepath.Join(home, ".cache", "teleconsole", "demo"); dir3 != want {
		t.Errorf("without XDG_CACHE_HOME: %s, want %s", dir3, want)
	}
	if got := homeShort(dir3, home); got != "~/.cache/teleconsole/demo" {
		t.Errorf("said as %q", got)
	}
}
