package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"teleconsole/record"
	"teleconsole/uhiclient"
)

// chatKeyFile is the doctor's chat key pair's name in the data directory.
const chatKeyFile = "chat-key.json"

// dataFlags are the flags of the data directory, shared by the console,
// chat-key and history (--data-dir, also TELECONSOLE_DATA_DIR).
type dataFlags struct {
	dataDir string
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", "", "`DIR` for the consultations' record and the chat key (default $XDG_DATA_HOME/teleconsole)")
}

// dir is the data directory: --data-dir, else the default one.
func (d *dataFlags) dir() (string, error) {
	if d.dataDir != "" {
		return filepath.Abs(d.dataDir)
	}
	return record.DefaultDir(os.Getenv)
}

// chatKey is the doctor's chat key pair, made on first use and kept in the
// data directory.
func (d *dataFlags) chatKey() (uhiclient.ChatKeyPair, error) {
	dir, err := d.dir()
	if err != nil {
		return uhiclient.ChatKeyPair{}, err
	}
	if err := record.MkdirPrivate(dir); err != nil {
		return uhiclient.ChatKeyPair{}, err
	}
	return uhiclient.LoadOrCreateChatKeyPair(filepath.Join(dir, chatKeyFile))
}

// openStore opens the record in the data directory.
func (d *dataFlags) openStore(opts ...record.Option) (*record.Store, error) {
	dir, err := d.dir()
	if err != nil {
		return nil, err
	}
	s, err := record.Open(dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("the record in %s: %w", dir, err)
	}
	return s, nil
}
