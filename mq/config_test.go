package mq

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"amqp://user:s3cret@host:5672/vh", "amqp://user:xxxxx@host:5672/vh"},
		{"amqps://u:p%40ss@h/", "amqps://u:xxxxx@h/"},
		{"amqp://host/", "amqp://host/"},
		{"amqp://user:se cret@ho st:abc/", "amqp://user:xxxxx@ho st:abc/"},
		// Passwords Go's URL parser cuts short: everything up to the last
		// "@" is the user information.
		{"amqp://u:Secr#t99@127.0.0.1:1/", "amqp://u:xxxxx@127.0.0.1:1/"},
		{"amqp://u:pa/ss@host/vh", "amqp://u:xxxxx@host/vh"},
		{"amqp://u:12/3@host", "amqp://u:xxxxx@host"},
		{"amqp://u:a?b@host/", "amqp://u:xxxxx@host/"},
		{"amqp://u:p@ss@host/", "amqp://u:xxxxx@host/"},
		{"amqp://token@host/", "amqp://token@host/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, RedactURL(tt.in))
		})
	}
}

func TestEndpointResolveErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	tests := []struct {
		name    string
		ep      Endpoint
		wantErr string
	}{
		{"empty", Endpoint{}, "no broker URL"},
		{"scheme", Endpoint{URLs: URLs{"http://user:s3cret@host/"}}, "bad broker URL"},
		{"port", Endpoint{URLs: URLs{"amqp://user:s3cret@host:notaport/"}}, "bad broker URL"},
		{"ca without amqps", Endpoint{URLs: URLs{"amqp://user:s3cret@host/"}, CAFile: notPEM}, "needs an amqps:// URL"},
		{"missing ca", Endpoint{URLs: URLs{"amqps://user:s3cret@host/"}, CAFile: filepath.Join(dir, "nope.pem")}, "read CA file"},
		{"ca not pem", Endpoint{URLs: URLs{"amqps://user:s3cret@host/"}, CAFile: notPEM}, "holds no PEM certificate"},
		{"cert without key", Endpoint{URLs: URLs{"amqps://user:s3cret@host/"}, CertFile: notPEM}, "both a cert file and a key file"},
		{"ftp", Endpoint{URLs: URLs{"ftp://user:s3cret@host"}}, "bad broker URL"},
		{"hash in password", Endpoint{URLs: URLs{"amqp://u:s3cret#99@127.0.0.1:1/"}}, "percent-encode"},
		{"slash in password", Endpoint{URLs: URLs{"amqp://u:s3cret/99@127.0.0.1:1/"}}, "percent-encode"},
		{"second node bad", Endpoint{URLs: URLs{"amqp://127.0.0.1:1/,amqp://u:s3cret?x@h/"}}, "percent-encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.ep.nodes("test")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
	t.Run("ok", func(t *testing.T) {
		ns, err := Endpoint{URLs: URLs{"amqp://user:s3cret@host:1234/vh"}}.nodes("test")
		require.NoError(t, err)
		require.Len(t, ns, 1)
		assert.Equal(t, "amqp://user:xxxxx@host:1234/vh", ns[0].redacted)
		assert.Equal(t, "s3cret", ns[0].secret)
	})
	t.Run("amqps ok", func(t *testing.T) {
		ns, err := Endpoint{URLs: URLs{"amqps://user:pw@broker.example:5671/"}}.nodes("test")
		require.NoError(t, err)
		require.NotNil(t, ns[0].config.TLSClientConfig)
		assert.Equal(t, "broker.example", ns[0].config.TLSClientConfig.ServerName)
	})
	t.Run("a cluster", func(t *testing.T) {
		ns, err := Endpoint{URLs: URLs{"amqp://u:p1@n1:5672/, amqp://u:p2@n2:5672/", "amqp://u:p3@n3:5672/"}}.nodes("test")
		require.NoError(t, err)
		var got []string
		for _, n := range ns {
			got = append(got, n.redacted)
		}
		assert.Equal(t, []string{"amqp://u:xxxxx@n1:5672/", "amqp://u:xxxxx@n2:5672/", "amqp://u:xxxxx@n3:5672/"}, got)
	})
}

func TestSanitizeKeyAndRoutingKey(t *testing.T) {
	tests := []struct{ name, want string }{
		{"cam0", "cam0"},
		{"rtsp://10.0.0.5/live", "rtsp_10_0_0_5_live"},
		{"/work/media/video/two people.mp4", "work_media_video_two_people_mp4"},
		{"a.*#b", "a_b"},
		{"", "unnamed"},
		{"///", "unnamed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, SanitizeKey(tt.name))
		})
	}
	assert.Equal(t, "faces.cam_1.3", RoutingKey("faces.{source}.{source_id}", "cam 1", 3))
	long := SanitizeKey("x" + strings.Repeat("ab", 80) + "end")
	assert.Len(t, long, 100)
	assert.True(t, len(long) > 3 && long[len(long)-3:] == "end", "keeps the end of a long name")
}

func TestCheckTemplate(t *testing.T) {
	for _, tt := range []struct {
		tmpl string
		ok   bool
	}{{"faces.{source}", true}, {"faces.{source_id}.x", true}, {"faces.{camera}", false}, {"{", false}} {
		t.Run(tt.tmpl, func(t *testing.T) {
			err := checkTemplate(tt.tmpl)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
	_, err := NewPublisher(context.Background(), Config{Endpoint: Endpoint{URLs: URLs{"amqp://127.0.0.1:1/"}}, RoutingKey: "faces.{camera}"})
	assert.ErrorContains(t, err, "only {source} and {source_id}", "a bad template fails before any connection")
}
