package meta

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// redactCases are the URIs and texts tried against RedactURI, with what it
// must give: docs/BAD-INPUTS.md counts them.
var redactCases = []struct{ in, want string }{
	// Passwords Go's URL parser accepts.
	{"rtsp://admin:hunter2@cam/1", "rtsp://admin:xxxxx@cam/1"},
	{"amqp://user:s3cret@host:5672/vh", "amqp://user:xxxxx@host:5672/vh"},
	{"amqps://u:p%40ss@h/", "amqps://u:xxxxx@h/"},
	// Passwords it rejects or misreads (issue 13): a bad escape, a "#"
	// (taken for a fragment), a "/" (taken for the path), an "@", a ":",
	// a space, an empty user.
	{"rtsp://admin:50%off!@host/x", "rtsp://admin:xxxxx@host/x"},
	{"amqp://u:Secr#t99@h/", "amqp://u:xxxxx@h/"},
	{"rtsp://admin:pa#ss@cam:554/stream", "rtsp://admin:xxxxx@cam:554/stream"},
	{"rtsp://admin:pa/ss@cam/stream", "rtsp://admin:xxxxx@cam/stream"},
	{"rtsp://admin:12/34@cam", "rtsp://admin:xxxxx@cam"},
	{"rtsp://admin:p@ssw0rd@cam/x", "rtsp://admin:xxxxx@cam/x"},
	{"rtsp://admin:a:b:c@cam/x", "rtsp://admin:xxxxx@cam/x"},
	{"amqp://user:se cret@ho st:abc/", "amqp://user:xxxxx@ho st:abc/"},
	{"rtsp://:secret@cam/x", "rtsp://:xxxxx@cam/x"},
	{"RTSP://Admin:Secret@Cam/X", "RTSP://Admin:xxxxx@Cam/X"},
	{"nope://user:secret@host/x", "nope://user:xxxxx@host/x"},
	// Secrets in the query.
	{"rtsp://cam/x?user=admin&password=secret", "rtsp://cam/x?user=admin&password=xxxxx"},
	{"http://cam/video.mjpg?pwd=abc&res=hd", "http://cam/video.mjpg?pwd=xxxxx&res=hd"},
	{"https://cam/live?access_token=abc;x=1", "https://cam/live?access_token=xxxxx;x=1"},
	{"rtsp://u:p@cam/x?token=t0k", "rtsp://u:xxxxx@cam/x?token=xxxxx"},
	// A GStreamer pipeline: URIs and secret properties inside it.
	{"gst://rtspsrc location=rtsp://admin:50%off!@cam/x user-pw=hunter2 ! decodebin ! appsink",
		"gst://rtspsrc location=rtsp://admin:xxxxx@cam/x user-pw=xxxxx ! decodebin ! appsink"},
	{"gst://souphttpsrc location=\"http://u:p#w@cam/v\" proxy-pw=pp ! appsink",
		"gst://souphttpsrc location=\"http://u:xxxxx@cam/v\" proxy-pw=xxxxx ! appsink"},
	// Text holding URIs: errors and log lines.
	{"source rtsp://admin:50%off!@host/x: cannot open", "source rtsp://admin:xxxxx@host/x: cannot open"},
	{`parse "rtsp://a:b#c@h/": invalid port`, `parse "rtsp://a:xxxxx@h/": invalid port`},
	{"tried rtsp://a:1@h1/x and rtsp://b:2@h2/y", "tried rtsp://a:xxxxx@h1/x and rtsp://b:xxxxx@h2/y"},
	// Nothing to hide.
	{"", ""},
	{"clip.mp4", "clip.mp4"},
	{"/srv/clips/a b.mp4", "/srv/clips/a b.mp4"},
	{"0", "0"},
	{"rtsp://cam/stream", "rtsp://cam/stream"},
	{"rtsp://admin@cam/stream", "rtsp://admin@cam/stream"},
	{"rtsp://cam/x?u=a@b", "rtsp://cam/x?u=a@b"},
	{"pattern://?width=320&height=240&fps=30", "pattern://?width=320&height=240&fps=30"},
	{"v4l2:///dev/video0?fourcc=MJPG", "v4l2:///dev/video0?fourcc=MJPG"},
	{"mail admin@example.com", "mail admin@example.com"},
	{"keyframe=1 passes=2", "keyframe=1 passes=2"},
	{"token=", "token="},
	// Hides too much rather than too little: a port and an "@" in the
	// query look like a password.
	{"rtsp://cam:554/x?u=a@b", "rtsp://cam:xxxxx@b"},
}

func TestRedactURI(t *testing.T) {
	for _, tc := range redactCases {
		t.Run(tc.in, func(t *testing.T) {
			got := RedactURI(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, got, RedactURI(got), "idempotent")
		})
	}
}

// FuzzRedactURI builds scheme://user:password@host/path from fuzzed parts
// and checks that the password never shows, whatever it holds.
func FuzzRedactURI(f *testing.F) {
	f.Add("rtsp", "admin", "50%off!", "cam:554", "stream")
	f.Add("amqp", "u", "Secr#t99", "h", "")
	f.Add("rtsp", "", "a/b?c#d@e", "cam", "x?y=z")
	f.Add("http", "u", "p w", "h", "p@th")
	f.Fuzz(func(t *testing.T, scheme, user, password, host, path string) {
		if !schemeOK(scheme) || len(password) < 4 || strings.ContainsAny(user, ":@") || strings.ContainsAny(host+path, "@") ||
			!utf8.ValidString(password) || strings.Contains(scheme+user+host+path+Redacted, password) {
			t.Skip()
		}
		uri := scheme + "://" + user + ":" + password + "@" + host + "/" + path
		got := RedactURI(uri)
		if strings.Contains(got, password) {
			t.Fatalf("RedactURI(%q) = %q shows the password", uri, got)
		}
		if !strings.HasPrefix(got, scheme+"://"+user+":"+Redacted+"@") {
			t.Fatalf("RedactURI(%q) = %q: want the user and the host kept", uri, got)
		}
	})
}

func schemeOK(s string) bool {
	if s == "" || strings.EqualFold(s, "gst") {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-')
		if !ok {
			return false
		}
	}
	return true
}
