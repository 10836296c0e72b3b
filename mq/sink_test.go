//go:build cgo

package mq

// The line's message sink (pipeline/sink.Messages) in front of a real
// Publisher and broker: frames in, AMQP messages out. These tests need
// Frames, so cgo; the rest of the package's tests do not.

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gocv.io/x/gocv"

	"github.com/conveyor-vision/conveyor/pipeline"
	"github.com/conveyor-vision/conveyor/pipeline/meta"
	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

// frames makes the frames behind messages(n), each with a 640x480 picture.
// The caller releases them.
func frames(n int) []*pipeline.Frame {
	var out []*pipeline.Frame
	for _, m := range messages(n) {
		out = append(out, &pipeline.Frame{
			SourceName: m.Source,
			SourceID:   m.SourceID,
			Number:     m.Frame,
			PTS:        time.Duration(m.PTSMillis * float64(time.Millisecond)),
			Captured:   m.Captured,
			Image:      gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3),
			Objects:    m.Objects,
			Events:     m.Events,
		})
	}
	return out
}

func TestSinkRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		filter   sink.Filter
		key      string
		want     int
		wantKeys []string
	}{
		// 20 frames with a face, and frame 5 with no face but a left event.
		{"with objects", sink.WithObjects, "", 21, []string{"faces.media_video_cam_0_mp4"}},
		{"all frames", sink.AllFrames, "faces.{source_id}", 30, []string{"faces.1"}},
		{"track changes", sink.TrackChanges, "", 2, []string{"faces.media_video_cam_0_mp4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bindQueue(t, "rt", "rt-q", "faces.#")
			pub, err := NewPublisher(testCtx(t, time.Minute), Config{Endpoint: Endpoint{URLs: URLs{broker.URL()}}, Exchange: "rt", Declare: true, RoutingKey: tt.key})
			require.NoError(t, err)
			msgs := sink.NewMessages(pub, tt.filter)
			fs := frames(30)
			for _, f := range fs {
				require.NoError(t, msgs.Write(context.Background(), f))
				f.Release()
			}
			// The source's end is published in every mode.
			left := meta.TrackEvent{Kind: meta.TrackLeft, TrackID: 8, Label: "face", Frames: 3}
			require.NoError(t, msgs.EndSource(context.Background(), &pipeline.SourceEnd{
				SourceID: 1, SourceName: "/media/video/cam 0.mp4", State: meta.SourceFailed, Err: "device lost",
				NextFrame: 30, Ended: time.Now(), Events: []meta.TrackEvent{left},
			}))
			require.NoError(t, msgs.Close())
			s := pub.Stats()
			checkBalance(t, s)
			assert.EqualValues(t, tt.want+1, s.Confirmed)
			assert.EqualValues(t, 30-tt.want, msgs.Counts().Skipped)

			got := drain(t, "rt-q")
			require.Len(t, got, tt.want+1, "exactly one message per frame that qualifies, and the end")
			var end meta.Message
			require.NoError(t, validate(t, got[len(got)-1].Body), "the end validates: %s", got[len(got)-1].Body)
			require.NoError(t, json.Unmarshal(got[len(got)-1].Body, &end))
			assert.Equal(t, &meta.End{State: meta.SourceFailed, Err: "device lost"}, end.End, "the end is the last message")
			assert.EqualValues(t, 30, end.Frame)
			assert.Equal(t, []meta.TrackEvent{left}, end.Events)
			assert.Empty(t, end.Objects)
			got = got[:len(got)-1]
			ids := map[string]bool{}
			for _, d := range got {
				require.NoError(t, validate(t, d.Body), "message validates against docs/message.schema.json: %s", d.Body)
				assert.Contains(t, tt.wantKeys, d.RoutingKey)
				assert.Equal(t, "application/json", d.ContentType)
				assert.EqualValues(t, 2, d.DeliveryMode, "persistent")
				assert.Equal(t, "conveyor", d.AppId)
				assert.Equal(t, meta.Schema, d.Headers[SchemaHeader])
				assert.False(t, d.Timestamp.IsZero())
				assert.NotEmpty(t, d.MessageId)
				assert.False(t, ids[d.MessageId], "message ids are unique")
				ids[d.MessageId] = true
				var ev meta.Message
				require.NoError(t, json.Unmarshal(d.Body, &ev))
				assert.Nil(t, ev.End)
				assert.Equal(t, 640, ev.Width)
				assert.Equal(t, "/media/video/cam 0.mp4", ev.Source)
				if tt.filter == sink.TrackChanges {
					assert.Len(t, ev.Events, 1)
				}
			}
		})
	}
}

func TestSinkWriteNeverBlocks(t *testing.T) {
	// No broker at all: Write returns at once and the drops are counted.
	free := newProxy(t, "127.0.0.1:1")
	addr := free.addr()
	require.NoError(t, free.ln.Close())
	pub, err := NewPublisher(testCtx(t, time.Minute), Config{
		Endpoint:        Endpoint{URLs: URLs{"amqp://guest:guest@" + addr + "/"}},
		StartTimeout:    10 * time.Millisecond,
		StartOffline:    true,
		OutboxSize:      10,
		ShutdownTimeout: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	msgs := sink.NewMessages(pub, sink.AllFrames)
	fs := frames(100)
	for _, f := range fs {
		require.NoError(t, msgs.Write(context.Background(), f))
		f.Release()
	}
	s := pub.Stats()
	assert.EqualValues(t, 90, s.DroppedBy[DropOutboxFull])
	assert.ErrorIs(t, msgs.Close(), ErrUnconfirmed)
	checkBalance(t, pub.Stats())
	f := frames(1)[0]
	defer f.Release()
	assert.ErrorIs(t, msgs.Write(context.Background(), f), ErrClosed)
}
