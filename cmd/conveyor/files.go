package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/sink"
)

// claimInput records that a source (what: "source 0") reads a local file,
// so that no output of this run is that file (sink.ClaimInput): `--source
// in.mp4 --out in.mp4` is refused before anything is written. The claim
// of a --source is released once the line has finished; that of a source
// added through the API (api: true, on a web server goroutine) lasts as
// long as the process. URIs that are not local files (cameras, streams,
// patterns) claim nothing.
func (b *built) claimInput(uri, what string, api bool) error {
	path := uri
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil {
			return nil // camera.Open says what is wrong with it
		}
		path = u.Path
	} else if strings.Contains(uri, "://") {
		return nil
	}
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	release, err := sink.ClaimInput(path, what)
	if err != nil {
		return err
	}
	if !api {
		b.after = append(b.after, closeFunc(release))
	}
	return nil
}

// closeFunc makes a func a Close for a closer list.
type closeFunc func()

func (f closeFunc) Close() error { f(); return nil }

// logOutput is where logf writes: the app's stderr (runAction sets it).
var logOutput io.Writer = os.Stderr

// logf prints one line on stderr, as conveyor's other messages are.
func logf(format string, args ...any) {
	fmt.Fprintf(logOutput, "conveyor: "+format+"\n", args...)
}
