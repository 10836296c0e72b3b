package trt

import (
	"fmt"
	"strings"
)

// logLines turns what the shim's log queue held (one message a line, each
// starting with "W " or "E ") into log lines: "trt: TensorRT warning: …",
// consecutive repeats folded into one line with their count. TensorRT
// repeats some warnings many times in one build (a tactic that wants more
// workspace than a small Jetson has).
func logLines(raw string) []string {
	var out []string
	prev, n := "", 0
	flush := func() {
		switch {
		case n == 1:
			out = append(out, prev)
		case n > 1:
			out = append(out, fmt.Sprintf("%s (%d times)", prev, n))
		}
	}
	for _, l := range strings.Split(raw, "\n") {
		if l == "" {
			continue
		}
		kind := "warning"
		switch {
		case strings.HasPrefix(l, "E "):
			kind, l = "error", l[2:]
		case strings.HasPrefix(l, "W "):
			l = l[2:]
		}
		line := "trt: TensorRT " + kind + ": " + strings.TrimSpace(l)
		if line == prev {
			n++
			continue
		}
		flush()
		prev, n = line, 1
	}
	flush()
	return out
}
