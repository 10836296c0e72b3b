package realsense

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		uri     string
		want    Config
		wantErr string
	}{
		{uri: "realsense://", want: Config{Name: "realsense://"}},
		{uri: "realsense://?serial=123&width=640&height=480&fps=30&color=RGB8",
			want: Config{Name: "realsense://?serial=123&width=640&height=480&fps=30&color=RGB8", Serial: "123", Width: 640, Height: 480, FPS: 30, Color: ColorRGB8}},
		{uri: "realsense:///data/x.bag?realtime=true&repeat=3", want: Config{Name: "realsense:///data/x.bag?realtime=true&repeat=3", File: "/data/x.bag", Realtime: true, Repeat: 3}},
		{uri: "realsense:///data/x.bag?loop=1&align=false&depth=true", want: Config{Name: "realsense:///data/x.bag?loop=1&align=false&depth=true", File: "/data/x.bag", Loop: true, NoAlign: true}},
		{uri: "realsense://?stall=2s&reconnect=-1s&wait=50ms", want: Config{Name: "realsense://?stall=2s&reconnect=-1s&wait=50ms", Stall: 2 * time.Second, Reconnect: -time.Second, Wait: 50 * time.Millisecond}},
		{uri: "rtsp://x", wantErr: "scheme must be realsense://"},
		{uri: "realsense://host/x.bag", wantErr: "unexpected host"},
		{uri: "realsense://?fps=-1", wantErr: "must not be negative"},
		{uri: "realsense://?color=yuyv", wantErr: "bgr8 or rgb8"},
		{uri: "realsense://?repeat=2", wantErr: "apply to a .bag file only"},
		{uri: "realsense:///x.bag?serial=1", wantErr: "exclude each other"},
		{uri: "realsense://?bogus=1", wantErr: `unknown option "bogus"`},
	}
	for _, tc := range tests {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := ParseURI(tc.uri)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{File: "/x.bag"}.withDefaults()
	assert.Equal(t, "realsense:///x.bag", c.Name)
	assert.Equal(t, 100*time.Millisecond, c.Wait)
	assert.Equal(t, 5*time.Second, c.Stall)
	assert.Equal(t, time.Minute, c.Reconnect)
	assert.Equal(t, "realsense://?serial=9", Config{Serial: "9"}.withDefaults().Name)
}

func TestErrorIsDisconnected(t *testing.T) {
	assert.ErrorIs(t, &Error{Op: "wait", Type: ExceptionCameraDisconnected}, ErrDisconnected)
	assert.NotErrorIs(t, &Error{Op: "wait", Type: ExceptionIO}, ErrDisconnected)
	assert.Equal(t, "realsense: start: boom (rs2_x(a:1))", (&Error{Op: "start", Function: "rs2_x", Args: "a:1", Message: "boom"}).Error())
}
