package camera

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// remux copies an mp4 into an MPEG-TS file with ffmpeg (no re-encoding).
func remux(t *testing.T, mp4 []byte, out string) error {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.mp4")
	if err := os.WriteFile(in, mp4, 0o644); err != nil {
		return err
	}
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-y", "-i", in, "-c", "copy", "-f", "mpegts", out)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
