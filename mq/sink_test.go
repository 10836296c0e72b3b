package mq

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
)

// frames makes n 640x480 frames of source "cam 0"; every third has no face,
// frame 1 has a face that appears, frame 5 (with no face) says it left. The
// caller releases them.
func frames(n int) []*pipeline.Frame {
	var out []*pipeline.Frame
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range n {
		f := &pipeline.Frame{
			SourceName: "/media/video/cam 0.mp4",
			SourceID:   1,
			Number:     int64(i),
			PTS:        time.Duration(i) * 40 * time.Millisecond,
			Captured:   t0.Add(time.Duration(i) * 40 * time.Millisecond),
			Image:      gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3),
		}
		if i%3 != 2 {
			f.Objects = []pipeline.Object{{
				Box: pipeline.Rect{X: 10, Y: 20, W: 30.5, H: 40}, Score: 0.9, Label: "face",
				Landmarks: []pipeline.Point{{X: 1, Y: 2}, {X: 3, Y: 4}, {X: 5, Y: 6}, {X: 7, Y: 8}, {X: 9, Y: 10}},
				TrackID:   7, Distance: 1.25,
			}}
		}
		switch i {
		case 1:
			f.Events = []pipeline.TrackEvent{{Kind: pipeline.TrackAppeared, TrackID: 7, Label: "face"}}
		case 5:
			f.Events = []pipeline.TrackEvent{{Kind: pipeline.TrackLeft, TrackID: 7, Label: "face", Frames: 4}}
		}
		out = append(out, f)
	}
	return out
}

func TestSinkRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		opts     SinkOptions
		want     int
		wantKeys []string
	}{
		// 20 frames with a face, and frame 5 with no face but a left event.
		{"per frame", SinkOptions{}, 21, []string{"faces.media_video_cam_0_mp4"}},
		{"include empty", SinkOptions{IncludeEmpty: true, RoutingKey: "faces.{source_id}"}, 30, []string{"faces.1"}},
		{"per event", SinkOptions{PerEvent: true}, 2, []string{"faces.media_video_cam_0_mp4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bindQueue(t, "rt", "rt-q", "faces.#")
			pub, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URL: broker.URL()}, Exchange: "rt", Declare: true})
			require.NoError(t, err)
			sink, err := NewSink(pub, tt.opts)
			require.NoError(t, err)
			fs := frames(30)
			for _, f := range fs {
				require.NoError(t, sink.Write(context.Background(), f))
				f.Release()
			}
			// The source's end is published in every mode.
			left := pipeline.TrackEvent{Kind: pipeline.TrackLeft, TrackID: 8, Label: "face", Frames: 3}
			require.NoError(t, sink.EndSource(context.Background(), &pipeline.SourceEnd{
				SourceID: 1, SourceName: "/media/video/cam 0.mp4", State: pipeline.SourceFailed, Err: "device lost",
				NextFrame: 30, Ended: time.Now(), Events: []pipeline.TrackEvent{left},
			}))
			require.NoError(t, sink.Close())
			s := sink.Stats()
			checkBalance(t, s)
			assert.EqualValues(t, tt.want+1, s.Confirmed)
			assert.EqualValues(t, 30-tt.want, sink.Skipped())

			got := drain(t, "rt-q")
			require.Len(t, got, tt.want+1, "exactly one message per frame that qualifies, and the end")
			var end pipeline.FrameEvent
			require.NoError(t, validate(t, got[len(got)-1].Body), "the end validates: %s", got[len(got)-1].Body)
			require.NoError(t, json.Unmarshal(got[len(got)-1].Body, &end))
			assert.Equal(t, &pipeline.EventEnd{State: pipeline.SourceFailed, Err: "device lost"}, end.End, "the end is the last message")
			assert.EqualValues(t, 30, end.Frame)
			assert.Equal(t, []pipeline.TrackEvent{left}, end.Events)
			assert.Empty(t, end.Objects)
			got = got[:len(got)-1]
			ids := map[string]bool{}
			for _, d := range got {
				require.NoError(t, validate(t, d.Body), "message validates against docs/message.schema.json: %s", d.Body)
				assert.Contains(t, tt.wantKeys, d.RoutingKey)
				assert.Equal(t, "application/json", d.ContentType)
				assert.EqualValues(t, 2, d.DeliveryMode, "persistent")
				assert.Equal(t, "conveyor", d.AppId)
				assert.Equal(t, pipeline.EventSchema, d.Headers[SchemaHeader])
				assert.False(t, d.Timestamp.IsZero())
				assert.NotEmpty(t, d.MessageId)
				assert.False(t, ids[d.MessageId], "message ids are unique")
				ids[d.MessageId] = true
				var ev pipeline.FrameEvent
				require.NoError(t, json.Unmarshal(d.Body, &ev))
				assert.Nil(t, ev.End)
				assert.Equal(t, 640, ev.Width)
				assert.Equal(t, "/media/video/cam 0.mp4", ev.Source)
				if tt.opts.PerEvent {
					assert.Len(t, ev.Events, 1)
				}
			}
		})
	}
}

func TestSchemaRejectsBadMessages(t *testing.T) {
	f := frames(2)[1]
	defer f.Release()
	good, err := json.Marshal(pipeline.NewFrameEvent(f, time.Now()))
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

func TestSinkWriteNeverBlocks(t *testing.T) {
	// No broker at all: Write returns at once and the drops are counted.
	free := newProxy(t, "127.0.0.1:1")
	addr := free.addr()
	require.NoError(t, free.ln.Close())
	pub, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint:        Endpoint{URL: "amqp://guest:guest@" + addr + "/"},
		StartTimeout:    10 * time.Millisecond,
		StartOffline:    true,
		OutboxSize:      10,
		ShutdownTimeout: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	sink, err := NewSink(pub, SinkOptions{IncludeEmpty: true})
	require.NoError(t, err)
	fs := frames(100)
	for _, f := range fs {
		require.NoError(t, sink.Write(context.Background(), f))
		f.Release()
	}
	s := sink.Stats()
	assert.EqualValues(t, 90, s.DroppedBy[DropOutboxFull])
	assert.ErrorIs(t, sink.Close(), ErrUnconfirmed)
	checkBalance(t, sink.Stats())
	f := frames(1)[0]
	defer f.Release()
	assert.ErrorIs(t, sink.Write(context.Background(), f), ErrClosed)
}
