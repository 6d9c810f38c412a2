package ui

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// The snapshot is the frame asked for, whole, readable by the doctor alone,
// named by patient, transaction and time; nothing else is left behind.
func TestSnapshotSaved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snapshots")
	f := newFake(&recorder{}, make(chan call.Event))
	pic := testPicture()
	f.SnapshotFn = func(seq uint64) (image.Image, error) {
		if seq != 7 {
			return nil, call.ErrNoFrame
		}
		return pic, nil
	}
	p := waitingroom.Patient{Address: "asha.rao@sbx", TransactionID: "c0a8/e1f2"}
	msg := snapshotCmd(f, dir, p, 7, testNow)().(snapshotMsg)
	if msg.err != nil {
		t.Fatal(msg.err)
	}
	if want := filepath.Join(dir, "asha.rao@sbx_c0a8_e1f2_"+testNow.UTC().Format("20060102T150405.000Z")+".png"); msg.path != want {
		t.Errorf("saved as %s, want %s", msg.path, want)
	}
	st, err := os.Stat(msg.path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	r, err := os.Open(msg.path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img, err := png.Decode(r)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != pic.Bounds() {
		t.Errorf("snapshot %v, want the frame's %v", img.Bounds(), pic.Bounds())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the snapshot directory, want 1", len(entries))
	}
	if msg := snapshotCmd(f, dir, p, 8, testNow)().(snapshotMsg); msg.err == nil {
		t.Error("a frame no longer held was saved")
	}
}
