package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrackAndHTTP runs the line with the tracker and the web server, scrapes
// /metrics and /healthz while it runs, and checks the tracker's ids and
// events in the JSON lines.
func TestTrackAndHTTP(t *testing.T) {
	events := filepath.Join(t.TempDir(), "e.jsonl")
	var stderr syncBuffer
	app := newApp()
	app.ErrWriter = &stderr
	done := make(chan error, 1)
	go func() {
		done <- app.Run([]string{"conveyor", "run", "-s", asset(t, "media/video/face-demographics-walking-and-pause.mp4"),
			"--realtime", "--track", "--http", "127.0.0.1:0", "--jsonl", events, "--osd"})
	}()
	re := regexp.MustCompile(`live view on (http://127\.0\.0\.1:\d+/)`)
	var base string
	waitFor(t, "the web server", 30*time.Second, func() bool {
		m := re.FindStringSubmatch(stderr.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	waitFor(t, "healthz to turn healthy", 20*time.Second, func() bool { code, _ := get("healthz"); return code == 200 })
	code, metrics := get("metrics")
	require.Equal(t, 200, code)
	for _, name := range []string{"conveyor_stage_frames_in_total", "conveyor_stage_duration_seconds_bucket", "conveyor_frame_latency_seconds", "conveyor_source_fps", "go_goroutines"} {
		assert.Contains(t, metrics, name)
	}
	assert.Regexp(t, `conveyor_stage_frames_in_total\{stage="track"\} [1-9]`, metrics)

	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("run did not finish")
	}
	evs, ends := readEventsAndEnds(t, events)
	require.Len(t, evs, 41)
	require.Contains(t, ends, 0)
	ids := map[int64]bool{}
	var appeared, left int
	for _, ev := range append(evs, ends[0]) {
		for _, o := range ev.Objects {
			if o.TrackID != 0 {
				ids[o.TrackID] = true
			}
		}
		for _, e := range ev.Events {
			switch e.Kind {
			case meta.TrackAppeared:
				appeared++
			case meta.TrackLeft:
				left++
			}
		}
	}
	assert.GreaterOrEqual(t, len(ids), 2, "people get ids")
	assert.LessOrEqual(t, len(ids), 4, "ids are stable: few id switches for 3 people")
	assert.Equal(t, len(ids), appeared, "one appeared event per id")
	assert.Equal(t, appeared, left, "every object that appeared left, at the latest with the source's end")
	assert.NotEmpty(t, ends[0].Events, "someone is still in the picture at the end of the clip")
}

// TestHealthzSaysWhenTheBrokerIsDown (issue 13): /healthz said "ok" while
// RabbitMQ was unreachable and every message was being lost; now it is
// unhealthy and says why.
func TestHealthzSaysWhenTheBrokerIsDown(t *testing.T) {
	var stderr syncBuffer
	app := newApp()
	app.ErrWriter = &stderr
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"conveyor", "run", "-s", "pattern://?width=160&height=120&fps=15&frames=-1",
			"--http", "127.0.0.1:0", "--progress", "never", "--blur", "none",
			"--amqp", "amqp://u:p@127.0.0.1:1/", "--amqp-start-timeout", "300ms", "--amqp-offline"})
	}()
	re := regexp.MustCompile(`live view on (http://127\.0\.0\.1:\d+/)`)
	var base string
	waitFor(t, "the web server", 30*time.Second, func() bool {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	var h struct{ Status, Reason string }
	waitFor(t, "frames to flow", 30*time.Second, func() bool {
		resp, err := http.Get(base + "healthz")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%+v", h)
		return strings.HasPrefix(h.Reason, "rabbitmq")
	})
	assert.Equal(t, "rabbitmq: not connected to the broker", h.Reason)
	stop()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop")
	}
}
