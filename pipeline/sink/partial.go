package sink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// checkIndexed says whether an MP4-family file has its index (a moov box
// at the top level): OpenCV's writer reports no write error, so a full disk
// shows only as a file without one. Other containers pass.
func checkIndexed(path string) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".mp4", ".m4v", ".mov":
	default:
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		if st.Size() == 0 {
			return errors.New("the encoder wrote nothing (disk full?)")
		}
		return nil
	}
	ok, err := hasMoov(path)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the encoder did not finish the file: it has no index (disk full?)")
	}
	return nil
}

// hasMoov says whether an MP4's top level has a complete moov box.
func hasMoov(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	found := false
	_ = walkBoxes(f, 0, st.Size(), func(typ string, _, _ int64) error {
		found = found || typ == "moov"
		return nil
	})
	return found, nil
}

// errTruncated is a box that goes past the end of its file or parent.
var errTruncated = errors.New("truncated")

// walkBoxes calls fn for each box between off and end (ISO BMFF: a 32-bit
// size, or 1 and a 64-bit size, or 0 for "to the end"; a type). A box that
// goes past end is errTruncated.
func walkBoxes(r io.ReaderAt, off, end int64, fn func(typ string, body, bodyEnd int64) error) error {
	hdr := make([]byte, 16)
	for off+8 <= end {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return err
		}
		size, head := int64(binary.BigEndian.Uint32(hdr[:4])), int64(8)
		typ := string(hdr[4:8])
		switch size {
		case 0:
			size = end - off
		case 1:
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return err
			}
			size, head = int64(binary.BigEndian.Uint64(hdr[8:16])), 16
		}
		if size < head || off+size > end {
			return fmt.Errorf("%w box %q at %d", errTruncated, typ, off)
		}
		if err := fn(typ, off+head, off+size); err != nil {
			return err
		}
		off += size
	}
	if off != end {
		return fmt.Errorf("%w: %d stray bytes at the end", errTruncated, end-off)
	}
	return nil
}

// countSamples counts the video samples (frames) of an MP4, standard
// (moov's sample sizes) or fragmented (every moof's track runs), and fails
// on a truncated box: ffmpeg reports some write errors (a disk that fills
// while the file is closed) only in its log, so a file is counted before it
// is called written.
func countSamples(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	total := 0
	u32 := func(at int64) (int, error) {
		var b [4]byte
		if _, err := f.ReadAt(b[:], at); err != nil {
			return 0, err
		}
		return int(binary.BigEndian.Uint32(b[:])), nil
	}
	var visit func(path []string, off, end int64) error
	visit = func(path []string, off, end int64) error {
		return walkBoxes(f, off, end, func(typ string, body, bodyEnd int64) error {
			p := append(path, typ)
			switch strings.Join(p, "/") {
			case "moov", "moov/trak", "moov/trak/mdia", "moov/trak/mdia/minf", "moov/trak/mdia/minf/stbl", "moof", "moof/traf":
				return visit(p, body, bodyEnd)
			case "moov/trak/mdia/minf/stbl/stsz": // version+flags, sample size, count
				n, err := u32(body + 8)
				total += n
				return err
			case "moof/traf/trun": // version+flags, count
				n, err := u32(body + 4)
				total += n
				return err
			}
			return nil
		})
	}
	if err := visit(nil, 0, st.Size()); err != nil {
		return total, err
	}
	return total, nil
}

// recoverPartial moves a temporary file left by a run that did not finish
// (conveyor killed, the machine lost power) out of the way, under a name
// the user sees: NAME.recovered-TIME.EXT beside the output. A fragmented
// MP4 is rewritten into a standard one on the way (its fragments up to the
// crash); an MP4 without an index (OpenCV's writer) cannot be played and
// is moved as it is to NAME.unfinished-TIME.EXT. It returns the new
// name, "" when there was nothing to recover. The caller holds the
// output's lock, so no live process is writing tmp.
func recoverPartial(tmp, final string) (string, error) {
	st, err := os.Stat(tmp)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if st.Size() == 0 {
		return "", os.Remove(tmp)
	}
	ext := filepath.Ext(final)
	base := strings.TrimSuffix(final, ext)
	stamp := st.ModTime().Format("20060102-150405")
	free := func(kind string) string {
		name := fmt.Sprintf("%s.%s-%s%s", base, kind, stamp, ext)
		for i := 2; ; i++ {
			if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
				return name
			}
			name = fmt.Sprintf("%s.%s-%s-%d%s", base, kind, stamp, i, ext)
		}
	}
	if c := containerFor(strings.ToLower(ext)); c == mp4Fragmented || c == movFragmented {
		format := "mp4"
		if c == movFragmented {
			format = "mov"
		}
		if ok, _ := hasMoov(tmp); ok {
			name := free("recovered")
			if err := remux(tmp, name, format); err == nil {
				return name, os.Remove(tmp)
			}
			os.Remove(name)
		}
		// No index (OpenCV's writer, killed): kept for forensics, under a
		// name that says it is not a finished video.
		name := free("unfinished")
		return name, os.Rename(tmp, name)
	}
	name := free("recovered") // Matroska, AVI: playable up to the crash
	if err := os.Rename(tmp, name); err != nil {
		return "", err
	}
	return name, nil
}
