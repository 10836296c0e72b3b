package sink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Outputs are claimed before anything is written to them, so that no
// output overwrites an input or another output, and two processes never
// write the same file:
//
//   - inside a process, a registry of the files it reads (ClaimInput) and
//     writes (every JSONL and Video file) refuses a second claim on the same
//     file, by name or, for files that exist, by inode;
//   - across processes, each output has a lock file beside it
//     (".NAME.lock", holding the writer's pid) locked with flock(2): the
//     kernel releases it when its process dies, however it dies, so a crash
//     never leaves a stale lock. The lock file is removed when the output is
//     finalized.

var (
	claimsMu sync.Mutex
	claims   = map[string]string{} // canonical path → what claimed it
)

// canonical is the absolute, cleaned path with the folder's symlinks
// resolved, so that two spellings of one file compare equal.
func canonical(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, base := filepath.Split(abs)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		// An existing file that is a symlink: the file it names.
		return real
	}
	return filepath.Join(dir, base)
}

// claimedBy returns what claimed the same file as path: by name, or by
// inode when both exist (hard links). Callers hold claimsMu.
func claimedBy(key string) (string, bool) {
	if what, ok := claims[key]; ok {
		return what, true
	}
	st, err := os.Stat(key)
	if err != nil {
		return "", false
	}
	for p, what := range claims {
		if other, err := os.Stat(p); err == nil && os.SameFile(st, other) {
			return what, true
		}
	}
	return "", false
}

// ClaimInput records that this process reads path (what names it in
// errors: "source 2"). It fails if an output of this process writes that
// file, and any later output claim on it fails: an input is never
// overwritten. It returns a func that forgets the claim.
func ClaimInput(path, what string) (release func(), err error) {
	key := canonical(path)
	claimsMu.Lock()
	defer claimsMu.Unlock()
	if other, ok := claimedBy(key); ok {
		if strings.HasPrefix(other, "input ") {
			return func() {}, nil // read twice: fine
		}
		return nil, fmt.Errorf("%s %s is also the %s: refusing to overwrite an input", what, path, other)
	}
	claims[key] = "input " + what
	return func() {
		claimsMu.Lock()
		defer claimsMu.Unlock()
		if claims[key] == "input "+what {
			delete(claims, key)
		}
	}, nil
}

// outputClaim is one output file claimed by this process: its registry
// entry and its lock file.
type outputClaim struct {
	key  string
	lock *os.File
	path string // of the lock file
}

// claimOutput claims path as an output of this process (what names it in
// errors: "events file", "video output"). It fails if another output or
// an input of this process is the same file, or if another process holds
// its lock. Nothing is written to path itself.
func claimOutput(path, what string) (*outputClaim, error) {
	key := canonical(path)
	claimsMu.Lock()
	if other, ok := claimedBy(key); ok {
		claimsMu.Unlock()
		if name, ok := strings.CutPrefix(other, "input "); ok {
			return nil, fmt.Errorf("is also %s's input: refusing to overwrite it", name)
		}
		return nil, fmt.Errorf("is also the %s: give each output its own file", other)
	}
	claims[key] = what
	claimsMu.Unlock()
	c := &outputClaim{key: key}
	if err := c.acquire(key); err != nil {
		claimsMu.Lock()
		delete(claims, key)
		claimsMu.Unlock()
		return nil, err
	}
	return c, nil
}

// lockPath is the lock file of an output: hidden, beside it.
func lockPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

// acquire takes the output's lock file. A lock file that another process
// removed between our open and our flock is not the one at the path any
// more: then try again.
func (c *outputClaim) acquire(path string) error {
	lp := lockPath(path)
	for range 10 {
		f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("cannot lock: %w", errors.Unwrap(err))
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			pid := readPid(f)
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				if pid > 0 {
					return fmt.Errorf("is being written by another process (pid %d; lock %s)", pid, lp)
				}
				return fmt.Errorf("is being written by another process (lock %s)", lp)
			}
			return fmt.Errorf("cannot lock %s: %w", lp, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(lp)
		if err1 != nil || err2 != nil || !os.SameFile(held, now) {
			f.Close()
			continue
		}
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		c.lock, c.path = f, lp
		return nil
	}
	return fmt.Errorf("cannot lock %s: it keeps changing", lp)
}

func readPid(f *os.File) int {
	b := make([]byte, 16)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}

// file is the locked lock file, for an encoder process to inherit (nil
// for a nil claim).
func (c *outputClaim) file() *os.File {
	if c == nil {
		return nil
	}
	return c.lock
}

// release removes the lock file (while still holding it, so that no one
// locks a file that is about to go) and forgets the claim. Idempotent.
func (c *outputClaim) release() {
	if c == nil || c.lock == nil {
		return
	}
	_ = os.Remove(c.path)
	_ = c.lock.Close()
	c.lock = nil
	claimsMu.Lock()
	delete(claims, c.key)
	claimsMu.Unlock()
}
