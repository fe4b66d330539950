package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateMode is the mode of every file the store writes: the database holds password hashes
// and who may see patient data, its WAL holds the latest changes, a backup holds all of it and
// the audit key reseals the log, so none is for other users of the machine.
const privateMode fs.FileMode = 0o600

// createPrivate creates path as an empty file of privateMode, failing if it exists (O_EXCL),
// so nothing is ever written into a file someone else prepared.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privateMode)
	if err != nil {
		return err
	}
	return f.Close()
}

// prepareDatabaseFile makes sure the database file exists with privateMode before SQLite opens
// it: SQLite gives the -wal and -shm files it creates the mode of the database file, and a
// database (or a WAL) left readable by an older version is tightened.
func prepareDatabaseFile(path string) error {
	err := createPrivate(path)
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store: create %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := tighten(p); err != nil {
			return err
		}
	}
	return nil
}

// tighten removes the group and other permission bits of path, if it exists.
func tighten(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
		return fmt.Errorf("store: make %s private: %w", path, err)
	}
	return nil
}
