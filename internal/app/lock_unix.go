//go:build unix

package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ServeLock is held by `rolegate serve` for as long as it serves a database file. A second
// server on the same file would answer from its own permission snapshot, which the first one's
// changes never reach, so it is refused at start instead.
type ServeLock struct {
	f *os.File
}

// AlreadyServingError says that another process holds the serve lock of the database.
type AlreadyServingError struct {
	DB  string
	PID int // 0 when the lock file did not say
}

func (e *AlreadyServingError) Error() string {
	who := "another rolegate serve"
	if e.PID > 0 {
		who = fmt.Sprintf("another rolegate serve (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is already serving %s; stop it first", who, e.DB)
}

// LockFile is the lock file of the database at dbPath, beside it.
func LockFile(dbPath string) string { return dbPath + ".serve.lock" }

// LockServe takes the exclusive serve lock of the database at dbPath without waiting, and writes
// this process's id into the lock file so a refused second server can name the first. The
// lock is an advisory flock(2) on LockFile: the kernel releases it when the process ends, even
// on a crash, so a stale file never blocks a restart. The maintenance commands (backup, audit,
// setup, demo) do not take it; they work beside a running server.
func LockServe(dbPath string) (*ServeLock, error) {
	path := LockFile(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serve lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &AlreadyServingError{DB: dbPath, PID: readPID(f)}
		}
		return nil, fmt.Errorf("serve lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		return nil, errors.Join(fmt.Errorf("serve lock %s: %w", path, err), f.Close())
	}
	return &ServeLock{f: f}, nil
}

// Release gives the lock up. The file stays: removing it would let a server that opened the
// old file before the removal and one that creates a new file both hold "the" lock.
func (l *ServeLock) Release() error {
	return errors.Join(l.f.Truncate(0), l.f.Close())
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the process id in the lock file, or 0 when it holds none (yet).
func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the file is shorter than b, as it should be
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}
