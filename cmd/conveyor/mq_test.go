package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// TestRunPublishesToRabbitMQAndConsumeReceives runs `conveyor consume` and
// `conveyor run --amqp` against a real RabbitMQ server started for the test.
func TestRunPublishesToRabbitMQAndConsumeReceives(t *testing.T) {
	broker, err := mqtest.Start(mqtest.Options{})
	require.NoError(t, err)
	defer broker.Close()
	dir := t.TempDir()
	received := filepath.Join(dir, "received.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var consumerErr syncBuffer
	consumer := newApp()
	consumer.ErrWriter = &consumerErr
	done := make(chan error, 1)
	go func() {
		done <- consumer.RunContext(ctx, []string{"conveyor", "consume", "--amqp", broker.URL(), "--binding", "faces.#", "--out", received})
	}()
	waitFor(t, "the consumer to bind its queue", 30*time.Second, func() bool { return strings.Contains(consumerErr.String(), "consuming from queue") })

	stderr, err := conveyor(t, "run", "-s", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"),
		"--max-frames", "20", "--blur", "none", "--amqp", broker.URL())
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "rabbitmq: 21 offered, 21 confirmed, 0 dropped", "20 frames with faces and the source's end")

	waitFor(t, "21 messages", 30*time.Second, func() bool { return countLines(received) >= 21 })
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("consume did not stop within 30s of its context ending")
	}
	f, err := os.Open(received)
	require.NoError(t, err)
	defer f.Close()
	seen := map[int64]bool{}
	var ends []meta.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev meta.Message
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		assert.Equal(t, meta.Schema, ev.Schema)
		if ev.End != nil {
			ends = append(ends, ev)
			continue
		}
		require.Empty(t, ends, "the end is the last message")
		assert.NotEmpty(t, ev.Objects)
		seen[ev.Frame] = true
	}
	assert.Len(t, seen, 20, "every frame with a face produced one message")
	require.Len(t, ends, 1, "one end message")
	assert.EqualValues(t, 20, ends[0].Frame)
	assert.Empty(t, ends[0].Objects)

	// Wrong credentials: a clear error that does not print the password.
	bad := strings.Replace(broker.URL(), "guest:guest", "guest:s3cret-pw", 1)
	require.NotEqual(t, bad, broker.URL(), "the test broker uses guest:guest")
	_, err = conveyor(t, "run", "-s", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"), "--amqp", bad)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret-pw")
	assert.Contains(t, strings.ToLower(err.Error()), "refused")
}

func TestUnreachableBrokerAtStart(t *testing.T) {
	_, err := conveyor(t, "run", "-s", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"),
		"--amqp", "amqp://u:topsecret@127.0.0.1:1/", "--amqp-start-timeout", "300ms")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "topsecret")
	assert.Contains(t, err.Error(), "unreachable")

	// --amqp-offline: the run goes on and the messages are counted as dropped.
	stderr, err := conveyor(t, "run", "-s", asset(t, "media/video/head-pose-face-detection-female-and-male.mp4"),
		"--max-frames", "5", "--blur", "none", "--amqp", "amqp://u:p@127.0.0.1:1/", "--amqp-start-timeout", "300ms", "--amqp-offline")
	require.NoError(t, err, stderr)
	assert.Contains(t, stderr, "rabbitmq: 6 offered, 0 confirmed", "5 frames and the end")
}
