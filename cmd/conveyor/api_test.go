package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// TestSourceAPI starts `conveyor run --api` with no source, adds sources
// through the HTTP API while it runs, removes a live one, and checks that
// each source's video file is finalized when that source ends (not at the
// end of the run) and that every frame of every source came out once.
func TestSourceAPI(t *testing.T) {
	dir := t.TempDir()
	out, events := filepath.Join(dir, "out.mp4"), filepath.Join(dir, "e.jsonl")
	tokenFile := filepath.Join(dir, "token")
	clip := asset(t, "media/video/head-pose-face-detection-female-and-male.mp4") // 56 frames
	var stderr syncBuffer
	app := newApp()
	app.ErrWriter = &stderr
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"conveyor", "run", "--api", "--http", "127.0.0.1:0", "--progress", "never",
			"--http-token-file", tokenFile, "--api-allow", filepath.Dir(clip), "--api-allow", "pattern://",
			"--out", out, "--jsonl", events, "--input-size", "320"})
	}()
	re := regexp.MustCompile(`live view on (http://127\.0\.0\.1:\d+/)`)
	var base string
	waitFor(t, "the web server", 30*time.Second, func() bool {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	assert.Contains(t, stderr.String(), "conveyor: http: a new token is in "+tokenFile)
	token, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	client := &http.Client{Timeout: 20 * time.Second}
	send := func(method, path, body string) *http.Response {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := client.Do(req)
		require.NoError(t, err)
		return resp
	}
	add := func(uri string) pipeline.SourceStatus {
		body, _ := json.Marshal(map[string]string{"uri": uri})
		resp := send(http.MethodPost, "api/sources", string(body))
		defer resp.Body.Close()
		var st pipeline.SourceStatus
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		return st
	}
	list := func() map[int]pipeline.SourceStatus {
		resp, err := client.Get(base + "api/sources")
		require.NoError(t, err)
		defer resp.Body.Close()
		var sts []pipeline.SourceStatus
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&sts))
		m := map[int]pipeline.SourceStatus{}
		for _, s := range sts {
			m[s.ID] = s
		}
		return m
	}

	first := add(clip)
	assert.Equal(t, 0, first.ID)
	waitFor(t, "the first clip to end", 60*time.Second, func() bool { return list()[0].State == meta.SourceEnded })
	// Its file is final while the run goes on.
	waitFor(t, "out.mp4 to be finalized", 20*time.Second, func() bool { _, err := os.Stat(out); return err == nil })
	assert.Equal(t, 56, countVideoFrames(t, out))

	live := add("pattern://?width=320&height=240&fps=30&frames=-1")
	again := add(clip)
	assert.Equal(t, []int{1, 2}, []int{live.ID, again.ID}, "ids are never reused")
	waitFor(t, "the pattern to send frames", 30*time.Second, func() bool { return list()[1].Frames > 10 })
	resp := send(http.MethodDelete, fmt.Sprintf("api/sources/%d", live.ID), "")
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var ended map[int]pipeline.SourceStatus
	waitFor(t, "both to end", 60*time.Second, func() bool {
		ended = list()
		return ended[1].State == meta.SourceStopped && ended[2].State == meta.SourceEnded
	})
	waitFor(t, "out-1.mp4 and out-2.mp4", 20*time.Second, func() bool {
		_, err1 := os.Stat(filepath.Join(dir, "out-1.mp4"))
		_, err2 := os.Stat(filepath.Join(dir, "out-2.mp4"))
		return err1 == nil && err2 == nil
	})
	assert.Equal(t, 56, countVideoFrames(t, filepath.Join(dir, "out-2.mp4")))

	// The line outlives its sources until stopped.
	select {
	case err := <-done:
		t.Fatalf("run ended on its own: %v\n%s", err, stderr.String())
	case <-time.After(200 * time.Millisecond):
	}
	stop()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop")
	}
	perSource := map[int]int{}
	frames, ends := readEventsAndEnds(t, events)
	for _, ev := range frames {
		perSource[ev.SourceID]++
	}
	// Each source's last line says how it ended: the clips reached their
	// end, the pattern was removed.
	require.Len(t, ends, 3)
	assert.Equal(t, meta.SourceEnded, ends[0].End.State)
	assert.Equal(t, meta.SourceStopped, ends[1].End.State)
	assert.Equal(t, meta.SourceEnded, ends[2].End.State)
	assert.EqualValues(t, 56, ends[0].Frame)
	wrote := writtenFiles(stderr.String())
	assert.Equal(t, 56, perSource[0])
	assert.Equal(t, 56, perSource[2])
	// The pattern is live: its link drops the oldest frame when the line is
	// busy. Every frame it sent came out or was counted as dropped.
	assert.Greater(t, perSource[1], 0)
	assert.Equal(t, ended[1].Frames-ended[1].Dropped, int64(perSource[1]), "%+v", ended[1])
	assert.Contains(t, wrote, "out-1.mp4")
}

// countVideoFrames decodes a video and counts its frames.
func countVideoFrames(t *testing.T, path string) int {
	t.Helper()
	frames := decodeAll(t, path)
	defer closeAll(frames)
	return len(frames)
}

// writtenFiles returns the summary's lines about written files.
func writtenFiles(stderr string) string {
	var b bytes.Buffer
	for _, m := range regexp.MustCompile(`conveyor: wrote [^\n]*`).FindAllString(stderr, -1) {
		b.WriteString(m + "\n")
	}
	return b.String()
}

// TestSourceAPIAttacks (issue 13, items 1 and 2) runs `conveyor run --api`
// as an operator would, with its defaults, and tries the attacks of the
// issue: each is refused, and nothing it asked for happens.
func TestSourceAPIAttacks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("top secret"), 0o600))
	copied := filepath.Join(dir, "copy.txt")
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer internal.Close()
	const token = "an-operator-token-0123456789"
	t.Setenv("CONVEYOR_HTTP_TOKEN", token)

	var stderr syncBuffer
	app := newApp()
	app.ErrWriter = &stderr
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- app.RunContext(ctx, []string{"conveyor", "run", "--api", "--http", "127.0.0.1:0", "--progress", "never"})
	}()
	re := regexp.MustCompile(`live view on (http://(127\.0\.0\.1:\d+)/)`)
	var base, hostport string
	waitFor(t, "the web server", 30*time.Second, func() bool {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base, hostport = m[1], m[2]
		}
		return base != ""
	})
	_, port, _ := strings.Cut(hostport, ":")
	client := &http.Client{Timeout: 20 * time.Second}
	post := func(uri string, header ...string) (int, string) {
		body, _ := json.Marshal(map[string]string{"uri": uri})
		req, err := http.NewRequest(http.MethodPost, base+"api/sources", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			if header[i] == "Host" {
				req.Host = header[i+1]
				continue
			}
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	auth := []string{"Authorization", "Bearer " + token}
	cases := []struct {
		name   string
		uri    string
		header []string
		code   int
		want   string
	}{
		{"no token", "rtsp://cam/x", nil, http.StatusUnauthorized, "a token is needed"},
		{"wrong token", "rtsp://cam/x", []string{"Authorization", "Bearer not-the-token-000000"}, http.StatusUnauthorized, "wrong token"},
		{"DNS rebinding", "rtsp://cam/x", append([]string{"Host", "attacker.example:" + port, "Origin", "http://attacker.example:" + port}, auth...), http.StatusMisdirectedRequest, "not a name of this server"},
		{"gst:// copies a file", "gst://videotestsrc num-buffers=5 ! videoconvert ! appsink filesrc location=" + secret + " ! filesink location=" + copied, auth, http.StatusForbidden, "may not open gst://"},
		{"a local file", secret, auth, http.StatusForbidden, "may not open local files"},
		{"/etc/shadow", "/etc/shadow", auth, http.StatusForbidden, "may not open local files"},
		{"/root/x", "/root/x", auth, http.StatusForbidden, "may not open local files"},
		{"an image folder", dir + "/", auth, http.StatusForbidden, "may not open local files"},
		{"http:// SSRF", internal.URL + "/admin", auth, http.StatusForbidden, "may not open http://"},
		{"a camera", "0", auth, http.StatusForbidden, "may not open cameras"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := post(tc.uri, tc.header...)
			assert.Equal(t, tc.code, code, msg)
			assert.Contains(t, msg, tc.want)
			assert.NotContains(t, msg, "top secret")
		})
	}
	_, shadow := post("/etc/shadow", auth...)
	_, missing := post("/root/x", auth...)
	assert.Equal(t, strings.Replace(shadow, "/etc/shadow", "X", 1), strings.Replace(missing, "/root/x", "X", 1), "the answers do not tell which path exists")
	assert.Zero(t, hits.Load(), "the internal server was never reached")
	assert.NoFileExists(t, copied)
	resp, err := client.Get(base + "debug/pprof/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no profiler unless asked")
	resp, err = client.Get(base + "healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "idle is not sick")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop")
	}
}
