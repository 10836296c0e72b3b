package mq

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadURL is an AMQP URL on a port of 127.0.0.1 that nobody serves.
func deadURL(t *testing.T) string {
	t.Helper()
	free := newProxy(t, "127.0.0.1:1")
	addr := free.addr()
	require.NoError(t, free.ln.Close())
	return "amqp://guest:s3cretPw@" + addr + "/"
}

// TestDiskOutboxRestart publishes while the broker is away, closes (the
// messages are kept, not dropped), and publishes them from a second
// publisher on the same directory once the broker is there, with their
// original message ids.
func TestDiskOutboxRestart(t *testing.T) {
	for _, fsync := range []time.Duration{0, 50 * time.Millisecond} {
		t.Run("fsync "+fsync.String(), func(t *testing.T) {
			dir := t.TempDir()
			exchange, queue := "disk-"+fsync.String(), "disk-"+fsync.String()+"-q"
			bindQueue(t, exchange, queue, "#")
			p, err := NewPublisher(testCtx(t, time.Minute), Config{
				Endpoint: Endpoint{URLs: URLs{deadURL(t)}}, Exchange: exchange,
				StartTimeout: 100 * time.Millisecond, StartOffline: true, ShutdownTimeout: 200 * time.Millisecond,
				OutboxDir: dir, OutboxFsync: fsync,
			})
			require.NoError(t, err)
			for i := range 50 {
				require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i)), Headers: map[string]any{SchemaHeader: "s"}}))
			}
			first := p.ID()
			require.NoError(t, p.Close(), "kept on disk is not an error")
			s := p.Stats()
			checkBalance(t, s)
			assert.EqualValues(t, 50, s.Kept)
			assert.Zero(t, s.Dropped)

			logs := &logLines{}
			p, err = NewPublisher(testCtx(t, time.Minute), Config{
				Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: exchange, OutboxDir: dir, OutboxFsync: fsync, Logf: logs.logf,
			})
			require.NoError(t, err)
			for i := 50; i < 55; i++ {
				require.NoError(t, p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i))}))
			}
			require.NoError(t, p.Close())
			s = p.Stats()
			checkBalance(t, s)
			assert.EqualValues(t, 50, s.Recovered)
			assert.EqualValues(t, 55, s.Confirmed)
			assert.Zero(t, s.Kept)
			assert.Equal(t, 1, logs.count("50 messages from an earlier run"), logs.String())

			got := drain(t, queue)
			require.Len(t, got, 55)
			for i, d := range got {
				assert.Equal(t, strconv.Itoa(i), string(d.Body), "in order")
				if i < 50 {
					assert.Equal(t, fmt.Sprintf("%s-%d", first, i+1), d.MessageId, "the id the first publisher gave it")
					assert.Equal(t, "s", d.Headers[SchemaHeader])
				}
			}
			assert.Len(t, segFiles(t, dir), 1, "everything confirmed: old segments deleted")
		})
	}
}

// TestDiskOutboxPolicies bounds the disk outbox by bytes: the drop policies
// and counts are those of the memory outbox, and only what was kept is sent
// after a restart.
func TestDiskOutboxPolicies(t *testing.T) {
	for _, policy := range []OutboxPolicy{DropOldest, DropNewest} {
		t.Run(policy.String(), func(t *testing.T) {
			dir := t.TempDir()
			exchange, queue := "diskp-"+policy.String(), "diskp-"+policy.String()+"-q"
			bindQueue(t, exchange, queue, "#")
			body := func(i int) []byte { return []byte(fmt.Sprintf("%04d", i)) }
			// Each message counts 4 (body) + 1 (key) + 4 (id) bytes: room for 10.
			cfg := Config{
				Endpoint: Endpoint{URLs: URLs{deadURL(t)}}, Exchange: exchange,
				StartTimeout: 100 * time.Millisecond, StartOffline: true, ShutdownTimeout: 100 * time.Millisecond,
				OutboxDir: dir, OutboxPolicy: policy, OutboxBytes: 90,
			}
			p, err := NewPublisher(testCtx(t, time.Minute), cfg)
			require.NoError(t, err)
			for i := range 25 {
				require.NoError(t, p.Publish(Publishing{RoutingKey: "k", Body: body(i), MessageID: fmt.Sprintf("m%03d", i)}))
			}
			require.NoError(t, p.Close())
			s := p.Stats()
			checkBalance(t, s)
			assert.EqualValues(t, 15, s.DroppedBy[DropOutboxFull])
			assert.EqualValues(t, 10, s.Kept)

			cfg.URLs, cfg.StartOffline = URLs{broker.URL()}, false
			cfg.ShutdownTimeout = 10 * time.Second
			p, err = NewPublisher(testCtx(t, time.Minute), cfg)
			require.NoError(t, err)
			require.NoError(t, p.Close())
			assert.EqualValues(t, 10, p.Stats().Confirmed)
			var got []string
			for _, d := range drain(t, queue) {
				got = append(got, string(d.Body))
			}
			first := 0
			if policy == DropOldest {
				first = 15
			}
			var want []string
			for i := first; i < first+10; i++ {
				want = append(want, string(body(i)))
			}
			assert.Equal(t, want, got)
		})
	}
}

// helperEnv makes the test binary a helper process (see TestMain).
const helperEnv = "CONVEYOR_MQ_TEST_HELPER"

// publishHelper is the process TestDiskOutboxSIGKILL kills: it publishes
// numbered messages through a disk outbox to an unreachable broker, and
// prints each number once Publish has returned.
func publishHelper() int {
	p, err := NewPublisher(context.Background(), Config{
		Endpoint:     Endpoint{URLs: URLs{os.Getenv(helperEnv + "_URL")}},
		StartTimeout: 50 * time.Millisecond, StartOffline: true,
		OutboxDir: os.Getenv(helperEnv + "_DIR"), OutboxFsync: time.Second, // a kill needs no fsync
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; ; i++ {
		if err := p.Publish(Publishing{RoutingKey: "faces.cam0", Body: []byte(strconv.Itoa(i)), MessageID: "kill-" + strconv.Itoa(i)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(i) // unbuffered: a printed number was accepted
		if i%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// TestDiskOutboxSIGKILL kills (SIGKILL) a process while it publishes
// through the disk outbox with the broker away, then starts a publisher on
// the same directory with the broker there: every message the killed
// process had accepted arrives.
func TestDiskOutboxSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=publish", helperEnv+"_DIR="+dir, helperEnv+"_URL="+deadURL(t))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	lines := make(chan int, 1<<16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				lines <- n
			}
		}
	}()
	accepted := map[int]bool{}
	deadline := time.After(time.Minute)
	for len(accepted) < 3000 {
		select {
		case n, ok := <-lines:
			if !ok {
				t.Fatalf("the helper ended: %v: %s", cmd.Wait(), stderr.String())
			}
			accepted[n] = true
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the helper accepted %d messages in a minute: %s", len(accepted), stderr.String())
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	rest := time.After(30 * time.Second)
drain: // what it printed before it died
	for {
		select {
		case n, ok := <-lines:
			if !ok {
				break drain
			}
			accepted[n] = true
		case <-rest:
			t.Fatal("the killed helper's output did not end within 30 s")
		}
	}
	_ = cmd.Wait()
	maxAccepted := 0
	for n := range accepted {
		maxAccepted = max(maxAccepted, n)
	}
	require.Len(t, accepted, maxAccepted+1, "the helper printed every number")

	bindQueue(t, "killed", "killed-q", "#")
	p, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "killed", OutboxDir: dir, ShutdownTimeout: 30 * time.Second,
	})
	require.NoError(t, err)
	require.NoError(t, p.Close())
	s := p.Stats()
	checkBalance(t, s)
	t.Logf("accepted %d before the kill; recovered %d; stats %+v", len(accepted), s.Recovered, s)
	got := map[int]bool{}
	for _, d := range drain(t, "killed-q") {
		n, err := strconv.Atoi(string(d.Body))
		require.NoError(t, err)
		assert.Equal(t, "kill-"+string(d.Body), d.MessageId)
		got[n] = true
	}
	missing := 0
	for n := range accepted {
		if !got[n] {
			missing++
		}
	}
	assert.Zero(t, missing, "every accepted message arrived")
	assert.LessOrEqual(t, len(got), len(accepted)+1, "at most the one being published when killed besides")
	assert.Zero(t, s.Dropped)
}
