package mq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// store is the on-disk outbox (Config.OutboxDir): an append-only log of
// records in segment files (docs/SCALING.md says why this and not a
// database). Every message Publish accepts is appended as a record before
// Publish returns; a confirm or a drop appends an ack record naming it.
// Opening the directory replays the log: the messages without an ack are
// the outbox of the new publisher, in their original order, with their
// original message ids.
//
// Files: DIR/lock (flock'd by the one publisher that owns the directory)
// and DIR/outbox-<first sequence number, 16 hex digits>.log, a sequence of
// records (record.go: length, CRC-32C, payload).
//
// Crash safety: a record is one write(2), so a crash of the process loses
// nothing written; the page cache reaches the disk at the next fsync (each
// append with fsync 0, else every fsync interval). A power cut can leave a
// torn record at the end of the newest segment: its CRC fails, and replay
// truncates the segment there. A segment is fsynced before the next one is
// created, and both the new file's and a deleted file's directory entry are
// fsynced, so only the newest segment can be torn. A lost ack brings its
// message back: it is sent again, with its id (at-least-once).
//
// Space: segments are deleted oldest first once every message in them is
// acked (an ack may name a message of an older segment, so a newer segment
// never goes first). When the files hold more than twice the live messages
// plus two segments, the oldest segment's live messages are copied to the
// newest and the oldest deleted.
//
// store is safe for concurrent use.
type store struct {
	dir       string
	lock      *os.File
	segSize   int64
	fsyncWait time.Duration // 0: sync on every append; >0: the syncer's period

	mu        sync.Mutex
	segs      []*segment // oldest first; the last is appended to
	live      map[uint64]recLoc
	liveBytes int64 // record bytes of the live messages
	diskBytes int64 // bytes of every segment file
	nextSeq   uint64
	written   int64 // bytes appended since open: positions for syncUpTo
	broken    error // a failed write that could not be undone

	syncMu sync.Mutex // one fsync at a time; callers waiting share it
	synced int64      // written, as of the last successful fsync

	stop chan struct{}
	done chan struct{}
}

type segment struct {
	f     *os.File
	path  string
	first uint64
	size  int64
	live  int // message records in it not yet acked
}

// recLoc is where a live message's record is.
type recLoc struct {
	seg  *segment
	off  int64 // of the record's header
	size int64 // header and payload
}

// replayInfo says what opening a store found.
type replayInfo struct {
	Messages  int   // live messages recovered
	Truncated int64 // bytes cut from a torn or corrupt segment end
	Corrupt   int   // segments that had a bad record
}

// openStore opens (creating it if needed) the outbox directory, locks it,
// and replays its log. It returns the live messages in order, their bodies
// left on disk (read with read).
func openStore(dir string, segSize int64, fsync time.Duration) (*store, []*message, replayInfo, error) {
	var info replayInfo
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, info, fmt.Errorf("mq: outbox-dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, info, fmt.Errorf("mq: outbox-dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, info, fmt.Errorf("mq: outbox-dir %s: %w", dir, ErrOutboxInUse)
		}
		return nil, nil, info, fmt.Errorf("mq: outbox-dir %s: lock: %w", dir, err)
	}
	s := &store{dir: dir, lock: lock, segSize: segSize, fsyncWait: fsync, live: map[uint64]recLoc{}, nextSeq: 1}
	msgs, err := s.replay(&info)
	if err != nil {
		s.closeFiles()
		return nil, nil, info, err
	}
	if fsync > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncer()
	}
	return s, msgs, info, nil
}

// replay reads every segment, truncates a torn end, and rebuilds the index.
func (s *store) replay(info *replayInfo) ([]*message, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("mq: outbox-dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		hex, ok := strings.CutPrefix(name, segPrefix)
		if !ok || !strings.HasSuffix(hex, segSuffix) || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(hex, segSuffix), 16, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, &segment{path: filepath.Join(s.dir, name), first: first})
	}
	slices.SortFunc(s.segs, func(a, b *segment) int { return compareU64(a.first, b.first) })
	msgs := map[uint64]*message{}
	maxSeq := uint64(0)
	for _, seg := range s.segs {
		f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("mq: outbox: %w", err)
		}
		seg.f = f
		good, err := s.scan(seg, func(off int64, payload []byte) {
			size := int64(recHeader + len(payload))
			switch payload[0] {
			case recMessage:
				m, seq, ok := decodeMessage(payload, false)
				if !ok {
					return
				}
				maxSeq = max(maxSeq, seq)
				if old, dup := s.live[seq]; dup { // a compaction copy
					old.seg.live--
					s.liveBytes -= old.size
				}
				s.live[seq] = recLoc{seg: seg, off: off, size: size}
				seg.live++
				s.liveBytes += size
				m.seq = seq
				msgs[seq] = m
			case recAck:
				for _, seq := range decodeAck(payload) {
					maxSeq = max(maxSeq, seq)
					if loc, ok := s.live[seq]; ok {
						loc.seg.live--
						s.liveBytes -= loc.size
						delete(s.live, seq)
						delete(msgs, seq)
					}
				}
			}
		})
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("mq: outbox: %w", err)
		}
		if good < st.Size() {
			// A torn record at the end (a crash while writing it, a power
			// cut before its fsync) or a corrupt one: cut the segment there,
			// so that appends follow the last good record.
			info.Truncated += st.Size() - good
			info.Corrupt++
			if err := f.Truncate(good); err != nil {
				return nil, fmt.Errorf("mq: outbox: truncate %s: %w", seg.path, err)
			}
		}
		seg.size = good
		s.diskBytes += good
	}
	s.nextSeq = maxSeq + 1
	if n := len(s.segs); n > 0 {
		// Segment names must keep growing: the newest may hold nothing but
		// acks of messages from deleted segments.
		s.nextSeq = max(s.nextSeq, s.segs[n-1].first+1)
	}
	if err := s.dropDeadSegments(); err != nil {
		return nil, err
	}
	if len(s.segs) == 0 {
		if err := s.newSegment(); err != nil {
			return nil, err
		}
	}
	out := make([]*message, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *message) int { return compareU64(a.seq, b.seq) })
	info.Messages = len(out)
	return out, nil
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// newSegment starts a new segment for appends, after syncing the current
// one: only the newest segment may then hold a torn record.
func (s *store) newSegment() error {
	if n := len(s.segs); n > 0 {
		if err := s.segs[n-1].f.Sync(); err != nil {
			return fmt.Errorf("mq: outbox: sync: %w", err)
		}
	}
	path := filepath.Join(s.dir, fmt.Sprintf("%s%016x%s", segPrefix, s.nextSeq, segSuffix))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mq: outbox: %w", err)
	}
	s.segs = append(s.segs, &segment{f: f, path: path, first: s.nextSeq})
	return s.syncDir()
}

// syncDir makes file creations and deletions in the directory durable.
func (s *store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("mq: outbox: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("mq: outbox: sync dir: %w", err)
	}
	return nil
}

// appendRecord writes one record to the newest segment, starting a new
// one first when it is full. A failed write is cut off again, so that the
// log stays readable after it. Call with s.mu held.
func (s *store) appendRecord(payload []byte) (recLoc, error) {
	if s.broken != nil {
		return recLoc{}, s.broken
	}
	if s.segs[len(s.segs)-1].size >= s.segSize {
		if err := s.newSegment(); err != nil {
			return recLoc{}, err
		}
	}
	seg := s.segs[len(s.segs)-1]
	rec := make([]byte, recHeader+len(payload))
	binary.LittleEndian.PutUint32(rec[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(payload, crcTable))
	copy(rec[recHeader:], payload)
	if _, err := seg.f.Write(rec); err != nil {
		if terr := seg.f.Truncate(seg.size); terr != nil {
			s.broken = fmt.Errorf("mq: outbox: write failed (%v) and could not be undone: %w", err, terr)
		}
		return recLoc{}, fmt.Errorf("mq: outbox: write: %w", err)
	}
	loc := recLoc{seg: seg, off: seg.size, size: int64(len(rec))}
	seg.size += loc.size
	s.diskBytes += loc.size
	s.written += loc.size
	return loc, nil
}

// append stores m (with m.body) as a new message record and sets m.seq. It
// returns the position to pass to syncUpTo.
func (s *store) append(m *message) (pos int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.nextSeq
	payload, err := encodeMessage(m, seq)
	if err != nil {
		return 0, err
	}
	loc, err := s.appendRecord(payload)
	if err != nil {
		return 0, err
	}
	s.nextSeq++
	m.seq = seq
	s.live[seq] = loc
	loc.seg.live++
	s.liveBytes += loc.size
	return s.written, nil
}

// read returns the body of live message seq.
func (s *store) read(seq uint64) ([]byte, error) {
	// Under the lock: a compaction may move the record and delete its file.
	s.mu.Lock()
	loc, ok := s.live[seq]
	var rec []byte
	var err error
	if ok {
		rec = make([]byte, loc.size)
		_, err = loc.seg.f.ReadAt(rec, loc.off)
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("mq: outbox: message %d is not in the outbox", seq)
	}
	if err != nil {
		return nil, fmt.Errorf("mq: outbox: read message %d: %w", seq, err)
	}
	payload := rec[recHeader:]
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(rec[4:8]) {
		return nil, fmt.Errorf("mq: outbox: message %d: checksum mismatch", seq)
	}
	m, _, ok := decodeMessage(payload, true)
	if !ok {
		return nil, fmt.Errorf("mq: outbox: message %d does not decode", seq)
	}
	return m.body, nil
}

// ack removes messages from the outbox: confirmed, or dropped. Acks are
// not fsynced (a lost one means a duplicate, not a loss).
func (s *store) ack(seqs ...uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for len(seqs) > 0 {
		n := min(len(seqs), ackBatchMax)
		batch := seqs[:n]
		seqs = seqs[n:]
		var live []uint64
		for _, seq := range batch {
			if _, ok := s.live[seq]; ok {
				live = append(live, seq)
			}
		}
		if len(live) == 0 {
			continue
		}
		payload := binary.AppendUvarint([]byte{recAck}, uint64(len(live)))
		for _, seq := range live {
			payload = binary.LittleEndian.AppendUint64(payload, seq)
		}
		if _, err := s.appendRecord(payload); err != nil {
			// The messages stay on disk: sent again after a restart.
			errs = append(errs, err)
		}
		for _, seq := range live {
			loc := s.live[seq]
			loc.seg.live--
			s.liveBytes -= loc.size
			delete(s.live, seq)
		}
	}
	if err := s.dropDeadSegments(); err != nil {
		errs = append(errs, err)
	}
	if err := s.compact(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dropDeadSegments deletes the oldest segments while nothing in them is
// live (never the newest). Call with s.mu held.
func (s *store) dropDeadSegments() error {
	removed := false
	for len(s.segs) > 1 && s.segs[0].live == 0 {
		seg := s.segs[0]
		_ = seg.f.Close()
		if err := os.Remove(seg.path); err != nil {
			return fmt.Errorf("mq: outbox: %w", err)
		}
		s.diskBytes -= seg.size
		s.segs = s.segs[1:]
		removed = true
	}
	if removed {
		return s.syncDir()
	}
	return nil
}

// compact copies the live messages of the oldest segment to the newest and
// deletes it, when the files hold much more than the live messages (one
// long-lived message keeps everything after it on disk). Call with s.mu
// held.
func (s *store) compact() error {
	if len(s.segs) < 2 || s.diskBytes <= 2*s.liveBytes+2*s.segSize {
		return nil
	}
	old := s.segs[0]
	var seqs []uint64
	for seq, loc := range s.live {
		if loc.seg == old {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		loc := s.live[seq]
		rec := make([]byte, loc.size)
		if _, err := old.f.ReadAt(rec, loc.off); err != nil {
			return fmt.Errorf("mq: outbox: compact: %w", err)
		}
		nl, err := s.appendRecord(rec[recHeader:])
		if err != nil {
			return fmt.Errorf("mq: outbox: compact: %w", err)
		}
		s.live[seq] = nl
		old.live--
		nl.seg.live++
	}
	// The copies must be on disk before the originals go.
	if err := s.segs[len(s.segs)-1].f.Sync(); err != nil {
		return fmt.Errorf("mq: outbox: compact: sync: %w", err)
	}
	return s.dropDeadSegments()
}

// syncUpTo returns once everything appended up to pos is on the storage
// device. Concurrent callers share one fsync.
func (s *store) syncUpTo(pos int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= pos {
		return nil
	}
	s.mu.Lock()
	f := s.segs[len(s.segs)-1].f
	target := s.written
	s.mu.Unlock()
	// Older segments were synced when the newer one was made, so syncing
	// the newest covers everything up to target. A file closed meanwhile
	// was deleted: nothing of it matters any more.
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("mq: outbox: sync: %w", err)
	}
	s.synced = target
	return nil
}

// syncer fsyncs every fsyncWait while there is something to sync.
func (s *store) syncer() {
	defer close(s.done)
	t := time.NewTicker(s.fsyncWait)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			pos := s.written
			s.mu.Unlock()
			_ = s.syncUpTo(pos) // an error shows at the next append's sync or at close
		}
	}
}

// count is the number of live messages.
func (s *store) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// close syncs, closes the files and releases the directory.
func (s *store) close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	pos := s.written
	s.mu.Unlock()
	err := s.syncUpTo(pos)
	s.closeFiles()
	return err
}

func (s *store) closeFiles() {
	for _, seg := range s.segs {
		if seg.f != nil {
			_ = seg.f.Close()
		}
	}
	_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
	_ = s.lock.Close()
}
