package mq

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// messages makes the messages of n 640x480 frames of source "cam 0"; every
// third has no face, frame 1 has a face that appears, frame 5 (with no
// face) says it left.
func messages(n int) []meta.Message {
	var out []meta.Message
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range n {
		f := meta.Message{
			Schema:    meta.Schema,
			Source:    "/media/video/cam 0.mp4",
			SourceID:  1,
			Frame:     int64(i),
			PTSMillis: float64(i) * 40,
			Captured:  t0.Add(time.Duration(i) * 40 * time.Millisecond),
			Emitted:   t0.Add(time.Duration(i)*40*time.Millisecond + 5*time.Millisecond),
			Width:     640,
			Height:    480,
			Objects:   []meta.Object{},
		}
		if i%3 != 2 {
			f.Objects = []meta.Object{{
				Box: meta.Rect{X: 10, Y: 20, W: 30.5, H: 40}, Score: 0.9, Label: "face",
				Landmarks: []meta.Point{{X: 1, Y: 2}, {X: 3, Y: 4}, {X: 5, Y: 6}, {X: 7, Y: 8}, {X: 9, Y: 10}},
				TrackID:   7, Distance: 1.25,
			}}
		}
		switch i {
		case 1:
			f.Events = []meta.TrackEvent{{Kind: meta.TrackAppeared, TrackID: 7, Label: "face"}}
		case 5:
			f.Events = []meta.TrackEvent{{Kind: meta.TrackLeft, TrackID: 7, Label: "face", Frames: 4}}
		}
		out = append(out, f)
	}
	return out
}

func TestWriteMessageRoutesBySource(t *testing.T) {
	bindQueue(t, "wm", "wm-q", "faces.#")
	pub, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "wm", Declare: true, RoutingKey: "faces.{source}.{source_id}"})
	require.NoError(t, err)
	ms := messages(3)
	for i := range ms {
		body, err := json.Marshal(&ms[i])
		require.NoError(t, err)
		require.NoError(t, pub.WriteMessage(context.Background(), &ms[i], body))
	}
	require.NoError(t, pub.Close())
	got := drain(t, "wm-q")
	require.Len(t, got, 3)
	for i, d := range got {
		require.NoError(t, validate(t, d.Body), "%s", d.Body)
		assert.Equal(t, "faces.media_video_cam_0_mp4.1", d.RoutingKey)
		assert.Equal(t, meta.Schema, d.Headers[SchemaHeader])
		assert.Equal(t, ms[i].Emitted.Unix(), d.Timestamp.Unix())
	}
	assert.ErrorIs(t, pub.WriteMessage(context.Background(), &ms[0], nil), ErrClosed)
}

func TestSchemaRejectsBadMessages(t *testing.T) {
	good, err := json.Marshal(messages(2)[1])
	require.NoError(t, err)
	require.NoError(t, validate(t, good))
	mutate := func(fn func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		fn(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	obj := func(m map[string]any) map[string]any { return m["objects"].([]any)[0].(map[string]any) }
	tests := map[string][]byte{
		"no schema":       mutate(func(m map[string]any) { delete(m, "schema") }),
		"other version":   mutate(func(m map[string]any) { m["schema"] = "conveyor.frame/v2" }),
		"bad time":        mutate(func(m map[string]any) { m["captured"] = "yesterday" }),
		"negative frame":  mutate(func(m map[string]any) { m["frame"] = -1 }),
		"unknown field":   mutate(func(m map[string]any) { m["camera"] = "x" }),
		"score above one": mutate(func(m map[string]any) { obj(m)["score"] = 1.5 }),
		"box without w":   mutate(func(m map[string]any) { delete(obj(m)["box"].(map[string]any), "w") }),
		"bad event kind":  mutate(func(m map[string]any) { m["events"].([]any)[0].(map[string]any)["kind"] = "vanished" }),
		"objects null":    mutate(func(m map[string]any) { m["objects"] = nil }),
		"bad end state":   mutate(func(m map[string]any) { m["end"] = map[string]any{"state": "paused"} }),
		"end no state":    mutate(func(m map[string]any) { m["end"] = map[string]any{"error": "x"} }),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, validate(t, body))
		})
	}
}
