//go:build !unix

package app

import (
	"errors"
	"fmt"
)

// ServeLock is held by `rolegate serve` for as long as it serves a database file; see
// lock_unix.go.
type ServeLock struct{}

// AlreadyServingError says that another process holds the serve lock of the database.
type AlreadyServingError struct {
	DB  string
	PID int
}

func (e *AlreadyServingError) Error() string {
	return fmt.Sprintf("another rolegate serve (pid %d) is already serving %s; stop it first", e.PID, e.DB)
}

// LockFile is the lock file of the database at dbPath, beside it.
func LockFile(dbPath string) string { return dbPath + ".serve.lock" }

// LockServe refuses: without flock(2) Rolegate cannot make sure that only one server uses the
// database, and two would answer from diverging permission data.
func LockServe(dbPath string) (*ServeLock, error) {
	return nil, errors.New("serve: this system has no flock(2), which rolegate serve needs to make sure only one server uses " + dbPath)
}

// Release gives the lock up.
func (l *ServeLock) Release() error { return nil }
