package systest

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEndToEndStartupErrors: the real binary, given a bad setting, says so
// on its own stderr and exits 1. (Its stderr is pointed at the log once the
// console runs; an error found before that must still reach the terminal.)
func TestEndToEndStartupErrors(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--media", "bogus"}, `"bogus"`},
		{[]string{"--verify", "bogus"}, `--verify "bogus"`},
	} {
		args := append([]string{"--hpr", "ganeshborse@hpr.ndhm", "--listen", "127.0.0.1:0",
			"--log", filepath.Join(t.TempDir(), "console.log")}, c.args...)
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("%v: %v, want exit status 1", c.args, err)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: stderr %q does not say %s", c.args, stderr.String(), c.want)
		}
	}
}
