package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/models"
	"github.com/conveyor-vision/conveyor/mq"
	"github.com/conveyor-vision/conveyor/mq/mqtest"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func countLines(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(data, []byte("\n"))
}

const clip = "media/video/head-pose-face-detection-female-and-male.mp4" // 56 frames at 12 fps

// consumer runs `conveyor consume args…` in-process until the test ends
// (or stop), and waits until it consumes.
type consumer struct {
	stderr syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startConsumer(t *testing.T, args ...string) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan error, 1)}
	app := newApp()
	app.ErrWriter = &c.stderr
	go func() { c.done <- app.RunContext(ctx, append([]string{"conveyor", "consume"}, args...)) }()
	t.Cleanup(func() { _ = c.stop(t) })
	deadline := time.After(60 * time.Second)
	for !strings.Contains(c.stderr.String(), "consuming from queue") {
		select {
		case err := <-c.done:
			c.done <- err
			t.Fatalf("consume ended before it consumed: %v: %s", err, c.stderr.String())
		case <-deadline:
			t.Fatalf("consume did not start within 60 s: %s", c.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c
}

// running says whether consume still runs.
func (c *consumer) running() bool {
	select {
	case err := <-c.done:
		c.done <- err
		return false
	default:
		return true
	}
}

// stop ends consume (as ^C would) and returns its error.
func (c *consumer) stop(t *testing.T) error {
	c.cancel()
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Error("consume did not stop within 30 s of its context ending")
		return nil
	}
}

// readMessages reads a consume output of one source: how many times each
// frame's message came, and the end messages.
func readMessages(t *testing.T, path string) (frames map[int64]int, ends []meta.Message) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	frames = map[int64]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m meta.Message
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		require.Equal(t, meta.Schema, m.Schema)
		if m.End != nil {
			ends = append(ends, m)
			continue
		}
		frames[m.Frame]++
	}
	require.NoError(t, sc.Err())
	return frames, ends
}

// TestRunPublishesToRabbitMQAndConsumeReceives runs `conveyor consume` and
// `conveyor run --amqp` against a real RabbitMQ server started for the
// test; consume finds the broker with --amqp env.
func TestRunPublishesToRabbitMQAndConsumeReceives(t *testing.T) {
	broker, err := mqtest.Start(mqtest.Options{})
	require.NoError(t, err)
	defer broker.Close()
	received := filepath.Join(t.TempDir(), "received.jsonl")
	t.Setenv(envAMQPURL, broker.URL())
	c := startConsumer(t, "--amqp", "env", "--binding", "faces.#", "--out", received)

	stderr, err := conveyor(t, "run", "-s", asset(t, clip), "--max-frames", "20", "--blur", "none", "--amqp", broker.URL())
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "rabbitmq: 21 offered, 21 confirmed, 0 dropped, 0 republished, 0 reconnects", "20 frames with faces and the source's end")

	waitFor(t, "21 messages", 30*time.Second, func() bool { return countLines(received) >= 21 })
	require.NoError(t, c.stop(t))
	assert.Contains(t, c.stderr.String(), "conveyor: consumed 21 messages (0 duplicates skipped, 0 redelivered)")
	frames, ends := readMessages(t, received)
	assert.Len(t, frames, 20, "every frame with a face produced one message")
	require.Len(t, ends, 1, "one end message")
	assert.EqualValues(t, 20, ends[0].Frame)
	assert.Empty(t, ends[0].Objects)

	// Wrong credentials: a clear error that does not print the password.
	bad := strings.Replace(broker.URL(), "guest:guest", "guest:s3cret-pw", 1)
	require.NotEqual(t, bad, broker.URL(), "the test broker uses guest:guest")
	_, err = conveyor(t, "run", "-s", asset(t, clip), "--amqp", bad)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret-pw")
	assert.Contains(t, strings.ToLower(err.Error()), "refused")
}

// TestAMQPPasswordNeverShown: a password Go's URL parser cuts short (#, /,
// ?) shows in no error, of run or consume.
func TestAMQPPasswordNeverShown(t *testing.T) {
	for _, pw := range []string{"Secr#t99", "Secr/t99", "Secr?t99", "12/3"} {
		u := "amqp://u:" + pw + "@127.0.0.1:1/"
		for _, args := range [][]string{
			{"run", "-s", asset(t, clip), "--amqp", u, "--amqp-start-timeout", "100ms"},
			{"consume", "--amqp", u, "--amqp-start-timeout", "100ms"},
		} {
			t.Run(pw+"/"+args[0], func(t *testing.T) {
				stderr, err := conveyor(t, args...)
				require.Error(t, err)
				secret := pw[:4]
				if pw == "12/3" {
					secret = pw
				}
				assert.NotContains(t, err.Error(), secret)
				assert.NotContains(t, stderr, secret)
				assert.Contains(t, err.Error(), "amqp://u:xxxxx@127.0.0.1:1/")
			})
		}
	}
}

// TestUnreachableBrokerAtStart: without --amqp-offline the run fails; with
// it the run goes on, and every message is counted: the summary does not
// say "0 dropped" when none reached the broker.
func TestUnreachableBrokerAtStart(t *testing.T) {
	_, err := conveyor(t, "run", "-s", asset(t, clip), "--amqp", "amqp://u:topsecret@127.0.0.1:1/", "--amqp-start-timeout", "300ms")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "topsecret")
	assert.Contains(t, err.Error(), "unreachable")

	stderr, err := conveyor(t, "run", "-s", asset(t, clip), "--max-frames", "5", "--blur", "none",
		"--amqp", "amqp://u:p@127.0.0.1:1/", "--amqp-start-timeout", "300ms", "--amqp-offline")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "rabbitmq: 6 offered, 0 confirmed, 6 dropped (6 unconfirmed when the run ended)", "5 frames and the end")
	assert.NotContains(t, stderr, "0 dropped")
	assert.NotContains(t, stderr, "map[")

	// An outbox smaller than the run: both reasons, counted.
	stderr, err = conveyor(t, "run", "-s", asset(t, clip), "--max-frames", "9", "--blur", "none",
		"--amqp", "amqp://u:p@127.0.0.1:1/", "--amqp-start-timeout", "300ms", "--amqp-offline", "--outbox", "4")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "rabbitmq: 10 offered, 0 confirmed, 10 dropped (6 outbox full, 4 unconfirmed when the run ended)")
}

func TestMQSummary(t *testing.T) {
	s := mq.Stats{Offered: 120, Recovered: 30, Confirmed: 90, Returned: 2, Dropped: 10, Kept: 50, Republished: 3, Reconnects: 1,
		DroppedBy: map[string]int64{mq.DropOutboxFull: 7, mq.DropAttempts: 3}}
	assert.Equal(t, "120 offered + 30 recovered from the disk outbox, 90 confirmed (2 of them routed to no queue), 10 dropped (7 outbox full, 3 refused by the broker), 50 kept in the disk outbox for the next run, 3 republished, 1 reconnects", mqSummary(s))
}

// TestAMQPNodesFromFlagsFileAndEnv: --amqp takes a comma-separated list and
// may be repeated, the config file a string or a list, CONVEYOR_AMQP_URL a
// list too.
func TestAMQPNodesFromFlagsFileAndEnv(t *testing.T) {
	want := mq.URLs{"amqp://n1/", "amqp://n2/", "amqp://n3/"}
	cfg, err := parseRun(t, "--source", "x.mp4", "--amqp", "amqp://n1/,amqp://n2/", "--amqp", "amqp://n3/")
	require.NoError(t, err)
	assert.Equal(t, want, cfg.AMQP.URLs.Split())
	for _, yaml := range []string{"amqp: amqp://n1/,amqp://n2/,amqp://n3/\n", "amqp: [amqp://n1/, 'amqp://n2/,amqp://n3/']\n"} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(path, []byte("source: [x.mp4]\n"+yaml), 0o644))
		cfg, err := parseRun(t, "--config", path)
		require.NoError(t, err, yaml)
		assert.Equal(t, want, cfg.AMQP.URLs.Split(), yaml)
	}
	t.Setenv(envAMQPURL, "amqp://n2/, amqp://n3/")
	got, err := amqpURLs(mq.URLs{"amqp://n1/,env"})
	require.NoError(t, err)
	assert.Equal(t, want, got)
	t.Setenv(envAMQPURL, "")
	_, err = amqpURLs(mq.URLs{"env"})
	assert.ErrorContains(t, err, "CONVEYOR_AMQP_URL is not set")
}

// TestConsumeSurvivesBrokerRestart stops and starts the broker under
// `conveyor consume --queue`: it says so once, reconnects by itself and
// receives what is published afterwards.
func TestConsumeSurvivesBrokerRestart(t *testing.T) {
	broker, err := mqtest.Start(mqtest.Options{})
	require.NoError(t, err)
	defer broker.Close()
	received := filepath.Join(t.TempDir(), "received.jsonl")
	c := startConsumer(t, "--amqp", broker.URL(), "--queue", "restart", "--out", received)
	publish := func() {
		stderr, err := conveyor(t, "run", "-s", asset(t, clip), "--max-frames", "5", "--blur", "none", "--amqp", broker.URL())
		require.NoError(t, err, stderr)
	}
	publish()
	waitFor(t, "6 messages", 30*time.Second, func() bool { return countLines(received) >= 6 })
	require.NoError(t, broker.Stop())
	require.NoError(t, broker.Restart())
	publish()
	waitFor(t, "12 messages", 60*time.Second, func() bool { return countLines(received) >= 12 })
	assert.True(t, c.running(), "consume went on")
	require.NoError(t, c.stop(t))
	log := c.stderr.String()
	t.Log(log)
	assert.Equal(t, 1, strings.Count(log, "conveyor: consume: lost the connection to amqp://guest:xxxxx@127.0.0.1"), "the outage is logged once")
	assert.Equal(t, 1, strings.Count(log, "conveyor: consume: consuming again from queue restart"))
	assert.NotContains(t, log, "guest:guest")
}

// TestClusterFailover is issue 17's scenario: a 3-node cluster; `conveyor
// consume` reads a quorum queue while `conveyor run` publishes a clip in
// real time to all three nodes; both are connected to the first node, which
// is killed (SIGKILL) mid-run. Every frame message and the end message
// arrive at least once; duplicates are counted.
func TestClusterFailover(t *testing.T) {
	start := time.Now()
	cl, err := mqtest.StartCluster(3, mqtest.Options{})
	require.NoError(t, err)
	defer cl.Close()
	t.Logf("3-node cluster started in %s", time.Since(start).Round(time.Millisecond))
	received := filepath.Join(t.TempDir(), "received.jsonl")
	c := startConsumer(t, "--amqp", cl.URL(), "--amqp-node-order", "listed", "--queue", "faces", "--queue-type", "quorum",
		"--binding", "faces.#", "--out", received, "--dedupe", "0")

	var logs syncBuffer // the run's outage lines go to the standard logger
	log.SetOutput(&logs)
	defer log.SetOutput(os.Stderr)
	var runErr syncBuffer
	done := make(chan error, 1)
	go func() {
		app := newApp()
		app.ErrWriter, app.Writer = &runErr, &runErr
		done <- app.Run([]string{"conveyor", "run", "-s", asset(t, clip), "--realtime", "--blur", "none", "--amqp-frames", "all",
			"--amqp", cl.URL(), "--amqp-node-order", "listed"})
	}()
	waitFor(t, "12 messages", 60*time.Second, func() bool { return countLines(received) >= 12 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conns, err := cl.Connections(ctx)
	require.NoError(t, err)
	on := map[string]int{}
	for _, conn := range conns {
		on[conn.Name] = conn.Node
	}
	require.Equal(t, map[string]int{"conveyor": 0, "conveyor consume": 0}, on, "run and consume on the first node")
	killedAt := countLines(received)
	require.NoError(t, cl.Nodes[0].Kill())

	select {
	case err := <-done:
		require.NoError(t, err, runErr.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("conveyor run did not finish within 2 minutes")
	}
	summary := runErr.String()
	assert.Contains(t, summary, "rabbitmq: 57 offered, 57 confirmed, 0 dropped", "56 frames and the end")
	waitFor(t, "every message", 60*time.Second, func() bool {
		frames, ends := readMessages(t, received)
		return len(frames) == 56 && len(ends) >= 1
	})
	require.NoError(t, c.stop(t))
	frames, ends := readMessages(t, received)
	dups := len(ends) - 1
	for _, n := range frames {
		dups += n - 1
	}
	t.Logf("killed node 1 after %d messages; %d frames and %d end messages received, %d duplicates\nrun: %s\nrun log:\n%s\nconsume: %s",
		killedAt, len(frames), len(ends), dups, summary[strings.Index(summary, "conveyor: rabbitmq"):], logs.String(), c.stderr.String())
	for i := range int64(56) {
		assert.Positive(t, frames[i], "frame %d arrived", i)
	}
	require.NotEmpty(t, ends)
	assert.EqualValues(t, 56, ends[0].Frame)
	assert.Equal(t, 1, strings.Count(logs.String(), "conveyor: rabbitmq: lost the connection to amqp://guest:xxxxx@127.0.0.1"), "the run logged the outage once")
	assert.Equal(t, 1, strings.Count(c.stderr.String(), "lost the connection to amqp://guest:xxxxx@127.0.0.1"), "and so did consume")
}

// TestSIGKILLWithDiskOutbox kills (SIGKILL) `conveyor run --outbox-dir`
// while the broker is down, then runs it again with the broker up: every
// message the killed run had accepted arrives, in order, with no gap.
func TestSIGKILLWithDiskOutbox(t *testing.T) {
	broker, err := mqtest.Start(mqtest.Options{})
	require.NoError(t, err)
	defer broker.Close()
	func() { // the queue the messages will land in, bound before the outage
		conn, err := amqp.Dial(broker.URL())
		require.NoError(t, err)
		defer conn.Close()
		ch, err := conn.Channel()
		require.NoError(t, err)
		require.NoError(t, ch.ExchangeDeclare("conveyor", "topic", true, false, false, false, nil))
		_, err = ch.QueueDeclare("kept", true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		require.NoError(t, err)
		require.NoError(t, ch.QueueBind("kept", "#", "conveyor", false, nil))
	}()
	require.NoError(t, broker.Stop())

	dir := t.TempDir()
	bin := filepath.Join(dir, "conveyor")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())
	outbox := filepath.Join(dir, "outbox")
	const pattern = "pattern://?width=160&height=120&fps=30&frames=-1"
	cmd := exec.Command(bin, "run", "-s", pattern, "--blur", "none", "--amqp-frames", "all",
		"--amqp", broker.URL(), "--amqp-offline", "--amqp-start-timeout", "200ms", "--outbox-dir", outbox)
	cmd.Env = append(os.Environ(), "CONVEYOR_ASSETS="+filepath.Dir(filepath.Dir(filepath.Dir(asset(t, models.DefaultModel)))))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	outboxSize := func() int64 {
		names, _ := filepath.Glob(filepath.Join(outbox, "outbox-*.log"))
		var n int64
		for _, name := range names {
			if st, err := os.Stat(name); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for outboxSize() < 30<<10 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the outbox did not grow to 30 KiB in 60 s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	assert.NotContains(t, stderr.String(), "offered", "killed: no summary")

	require.NoError(t, broker.Restart())
	out, err := conveyor(t, "run", "-s", asset(t, clip), "--max-frames", "3", "--blur", "none", "--amqp-frames", "all",
		"--amqp", broker.URL(), "--outbox-dir", outbox)
	require.NoError(t, err, out)
	m := regexp.MustCompile(`rabbitmq: 4 offered \+ (\d+) recovered from the disk outbox, (\d+) confirmed, 0 dropped,`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	recovered, _ := strconv.Atoi(m[1])
	confirmed, _ := strconv.Atoi(m[2])
	assert.Equal(t, recovered+4, confirmed)
	assert.Greater(t, recovered, 20, "the killed run had accepted many messages")

	// What the queue holds: the killed run's frames 0..recovered-1, each
	// once, then this run's 3 frames and its end.
	conn, err := amqp.Dial(broker.URL())
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	killed := map[int64]int{}
	other := 0
	for {
		d, ok, err := ch.Get("kept", true)
		require.NoError(t, err)
		if !ok {
			break
		}
		var msg meta.Message
		require.NoError(t, json.Unmarshal(d.Body, &msg))
		if strings.HasPrefix(msg.Source, "pattern://") {
			require.Nil(t, msg.End, "the killed run sent no end")
			killed[msg.Frame]++
		} else {
			other++
		}
	}
	assert.Len(t, killed, recovered)
	for i := range int64(recovered) {
		assert.Equal(t, 1, killed[i], "frame %d of the killed run, once", i)
	}
	assert.Equal(t, 4, other)
}
