package mq

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testMessage(i int) *message {
	m := &message{
		id:      fmt.Sprintf("pub-%d", i),
		key:     fmt.Sprintf("faces.cam%d", i%3),
		ts:      time.Unix(1700000000+int64(i), 0),
		body:    []byte(fmt.Sprintf(`{"frame":%d,"pad":%q}`, i, strings.Repeat("x", i%50))),
		headers: map[string]any{"schema": "conveyor.frame/v1"},
	}
	m.size = messageSize(m, len(m.body))
	return m
}

// openTestStore opens dir with small segments.
func openTestStore(t *testing.T, dir string, segSize int64) (*store, []*message, replayInfo) {
	t.Helper()
	s, msgs, info, err := openStore(dir, segSize, 0)
	require.NoError(t, err)
	return s, msgs, info
}

// checkMessages asserts that got are the test messages want, in order,
// with their bodies on disk.
func checkMessages(t *testing.T, s *store, got []*message, want []int) {
	t.Helper()
	var gotIDs, wantIDs []string
	for _, m := range got {
		gotIDs = append(gotIDs, m.id)
	}
	for _, i := range want {
		wantIDs = append(wantIDs, testMessage(i).id)
	}
	require.Equal(t, wantIDs, gotIDs)
	for k, m := range got {
		w := testMessage(want[k])
		assert.Nil(t, m.body, "bodies stay on disk")
		body, err := s.read(m.seq)
		require.NoError(t, err)
		assert.Equal(t, string(w.body), string(body))
		assert.Equal(t, w.key, m.key)
		assert.True(t, w.ts.Equal(m.ts))
		assert.Equal(t, "conveyor.frame/v1", m.headers["schema"])
		assert.Equal(t, w.size, m.size)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, segPrefix+"*"+segSuffix))
	require.NoError(t, err)
	slices.Sort(names)
	return names
}

func TestStoreReplay(t *testing.T) {
	dir := t.TempDir()
	s, msgs, _ := openTestStore(t, dir, 1<<10)
	require.Empty(t, msgs)
	var seqs []uint64
	for i := range 100 {
		m := testMessage(i)
		_, err := s.append(m)
		require.NoError(t, err)
		seqs = append(seqs, m.seq)
	}
	assert.Greater(t, len(segFiles(t, dir)), 3, "small segments rotate")
	// Confirm the first 60 and a few later ones, in two batches.
	require.NoError(t, s.ack(seqs[:30]...))
	require.NoError(t, s.ack(append(slices.Clone(seqs[30:60]), seqs[70], seqs[99])...))
	require.NoError(t, s.ack(seqs[0])) // again: ignored
	assert.Equal(t, 38, s.count())
	require.NoError(t, s.close())

	var want []int
	for i := 60; i < 99; i++ {
		if i != 70 {
			want = append(want, i)
		}
	}
	s, msgs, info := openTestStore(t, dir, 1<<10)
	assert.Equal(t, 38, info.Messages)
	assert.Zero(t, info.Truncated)
	checkMessages(t, s, msgs, want)
	// New messages go after the old ones, with higher sequence numbers.
	m := testMessage(1000)
	_, err := s.append(m)
	require.NoError(t, err)
	assert.Greater(t, m.seq, msgs[len(msgs)-1].seq)
	var all []uint64
	for _, m := range msgs {
		all = append(all, m.seq)
	}
	require.NoError(t, s.ack(append(all, m.seq)...))
	assert.Len(t, segFiles(t, dir), 1, "fully acked segments are deleted")
	require.NoError(t, s.close())

	s, msgs, _ = openTestStore(t, dir, 1<<10)
	assert.Empty(t, msgs)
	m2 := testMessage(2000)
	_, err = s.append(m2)
	require.NoError(t, err)
	assert.Greater(t, m2.seq, m.seq, "sequence numbers never go back, even with every message acked")
	require.NoError(t, s.close())
}

func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := openTestStore(t, dir, 1<<20)
	_, _, _, err := openStore(dir, 1<<20, 0)
	require.ErrorIs(t, err, ErrOutboxInUse)
	require.NoError(t, s.close())
	s, _, _ = openTestStore(t, dir, 1<<20)
	require.NoError(t, s.close())
}

// TestStoreTornTail cuts the newest segment at every byte of its last two
// records, as a crash or power cut while writing them would, and checks
// that replay keeps exactly the whole records before the cut, and that the
// store takes new messages after it.
func TestStoreTornTail(t *testing.T) {
	src := t.TempDir()
	s, _, _ := openTestStore(t, src, 1<<20)
	for i := range 4 {
		_, err := s.append(testMessage(i))
		require.NoError(t, err)
	}
	require.NoError(t, s.ack(1)) // message 0
	_, err := s.append(testMessage(4))
	require.NoError(t, err)
	sizes := []int64{}
	for _, seg := range s.segs {
		sizes = append(sizes, seg.size)
	}
	require.NoError(t, s.close())
	seg := segFiles(t, src)
	require.Len(t, seg, 1)
	var data []byte
	data, err = os.ReadFile(seg[0])
	require.NoError(t, err)
	require.EqualValues(t, sizes[0], len(data))

	// Record boundaries, to know what a cut at each byte keeps.
	var ends []int64
	for off := int64(0); off < int64(len(data)); {
		n := int64(data[off]) | int64(data[off+1])<<8 | int64(data[off+2])<<16 | int64(data[off+3])<<24
		off += recHeader + n
		ends = append(ends, off)
	}
	require.Len(t, ends, 6, "four messages, an ack, a message")
	from := ends[len(ends)-3] // cut inside the last two records
	for cut := from; cut < int64(len(data)); cut++ {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(seg[0])), data[:cut], 0o600))
		s, msgs, info := openTestStore(t, dir, 1<<20)
		whole := 0
		for _, e := range ends {
			if e <= cut {
				whole++
			}
		}
		var want []int
		switch whole {
		case 4: // 0..3; the ack of message 0 is torn
			want = []int{0, 1, 2, 3}
		case 5: // the ack is whole, message 4 torn
			want = []int{1, 2, 3}
		default:
			t.Fatalf("cut %d: %d whole records", cut, whole)
		}
		checkMessages(t, s, msgs, want)
		assert.Equal(t, cut-ends[whole-1], info.Truncated, "cut %d", cut)
		m := testMessage(99)
		_, err := s.append(m)
		require.NoError(t, err)
		require.NoError(t, s.close())
		s, msgs, info = openTestStore(t, dir, 1<<20)
		assert.Zero(t, info.Truncated)
		checkMessages(t, s, msgs, append(want, 99))
		require.NoError(t, s.close())
	}
}

// TestStoreCorruptRecord flips one byte of an older segment: replay loses
// the records from there to that segment's end (and says so), and keeps
// every other segment.
func TestStoreCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s, _, _ := openTestStore(t, dir, 300)
	for i := range 12 {
		_, err := s.append(testMessage(i))
		require.NoError(t, err)
	}
	require.NoError(t, s.close())
	segs := segFiles(t, dir)
	require.Greater(t, len(segs), 2)
	first, err := os.ReadFile(segs[0])
	require.NoError(t, err)
	n := int(first[0]) | int(first[1])<<8
	first[recHeader+n+recHeader+20] ^= 0xff // inside the second record
	require.NoError(t, os.WriteFile(segs[0], first, 0o600))

	s, msgs, info := openTestStore(t, dir, 300)
	defer s.close()
	assert.Equal(t, 1, info.Corrupt)
	assert.Positive(t, info.Truncated)
	got := []int{}
	for _, m := range msgs {
		var i int
		_, err := fmt.Sscanf(m.id, "pub-%d", &i)
		require.NoError(t, err)
		got = append(got, i)
	}
	assert.Equal(t, 0, got[0], "the record before the corrupt one stays")
	assert.NotContains(t, got, 1, "the corrupt record is gone")
	assert.Contains(t, got, 11, "later segments stay")
}

// TestStoreCompaction keeps one message unconfirmed while thousands come
// and go: without compaction it would pin every segment after it.
func TestStoreCompaction(t *testing.T) {
	dir := t.TempDir()
	const seg = 2 << 10
	s, _, _ := openTestStore(t, dir, seg)
	stuck := testMessage(0)
	_, err := s.append(stuck)
	require.NoError(t, err)
	maxDisk := int64(0)
	for i := 1; i < 3000; i++ {
		m := testMessage(i)
		_, err := s.append(m)
		require.NoError(t, err)
		require.NoError(t, s.ack(m.seq))
		maxDisk = max(maxDisk, s.diskBytes)
	}
	t.Logf("disk at most %d bytes for %d live bytes, segments of %d", maxDisk, s.liveBytes, seg)
	assert.LessOrEqual(t, maxDisk, 2*s.liveBytes+3*seg+1<<10)
	assert.LessOrEqual(t, len(segFiles(t, dir)), 4)
	require.NoError(t, s.close())
	s, msgs, _ := openTestStore(t, dir, seg)
	checkMessages(t, s, msgs, []int{0})
	require.NoError(t, s.close())
}

// TestStoreRandom runs random appends, acks, clean closes and crashes (the
// files closed without a sync or a final write) against a model: after
// every reopen the store holds exactly the appended, unacked messages, in
// order.
func TestStoreRandom(t *testing.T) {
	for seed := range uint64(10) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			dir := t.TempDir()
			s, _, _ := openTestStore(t, dir, 700)
			var live []*message // the model
			next := 0
			for range 400 {
				switch op := rng.IntN(20); {
				case op < 10:
					m := testMessage(next)
					next++
					_, err := s.append(m)
					require.NoError(t, err)
					live = append(live, m)
				case op < 17 && len(live) > 0:
					// Confirms mostly in order, sometimes out of it.
					k := rng.IntN(min(len(live), 5)) + 1
					idx := rng.Perm(min(len(live), 8))[:min(k, len(live), 8)]
					var seqs []uint64
					slices.Sort(idx)
					for j := len(idx) - 1; j >= 0; j-- {
						seqs = append(seqs, live[idx[j]].seq)
						live = slices.Delete(live, idx[j], idx[j]+1)
					}
					require.NoError(t, s.ack(seqs...))
				case op == 17:
					require.NoError(t, s.close())
					s = reopen(t, dir, live)
				case op >= 18:
					s.closeFiles() // a crash: no sync, nothing more written
					s = reopen(t, dir, live)
				}
			}
			require.NoError(t, s.close())
		})
	}
}

// reopen opens dir and checks that it holds the messages of live.
func reopen(t *testing.T, dir string, live []*message) *store {
	t.Helper()
	s, msgs, info := openTestStore(t, dir, 700)
	require.Zero(t, info.Truncated)
	var want []string
	for _, m := range live {
		want = append(want, m.id)
	}
	var got []string
	for i, m := range msgs {
		got = append(got, m.id)
		live[i].seq = m.seq
	}
	require.Equal(t, want, got)
	for _, m := range msgs {
		_, err := s.read(m.seq)
		require.NoError(t, err)
	}
	return s
}
