package record

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DirName is the data directory's name under $XDG_DATA_HOME.
const DirName = "teleconsole"

// DefaultDir is where teleconsole keeps its data when --data-dir (or
// TELECONSOLE_DATA_DIR) does not say: $XDG_DATA_HOME/teleconsole, else
// ~/.local/share/teleconsole, as the XDG base directory specification
// says. getenv is os.Getenv, or a test's environment.
func DefaultDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, DirName), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("no data directory: set --data-dir, XDG_DATA_HOME or HOME")
	}
	return filepath.Join(home, ".local", "share", DirName), nil
}

// MkdirPrivate makes dir and its parents, readable by the user alone
// (0700), and tightens dir itself if it already existed more open.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	return nil
}
