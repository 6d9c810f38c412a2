package simpatient

import (
	"os"
	"path/filepath"
	"testing"
)

func TestKeepStaysInItsDirectory(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]string{"prescription-v1.png": "prescription-v1.png", "../../etc/passwd": "passwd", "/abs/x.pdf": "x.pdf", "": "file", "..": "file"} {
		path, err := keep(dir, name, []byte("data"))
		if err != nil || path != filepath.Join(dir, want) {
			t.Errorf("%q kept at %q, %v; want %s", name, path, err, want)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
			t.Errorf("%q: %q, %v", name, b, err)
		}
	}
}
