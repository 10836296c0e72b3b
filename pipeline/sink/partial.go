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

// hasMoov walks an MP4's top-level boxes looking for moov.
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
	var off int64
	hdr := make([]byte, 16)
	for off+8 <= st.Size() {
		if _, err := f.ReadAt(hdr[:8], off); err != nil {
			return false, nil
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		switch size {
		case 0: // to the end of the file
			size = st.Size() - off
		case 1: // 64-bit size
			if _, err := f.ReadAt(hdr[8:16], off+8); err != nil && err != io.EOF {
				return false, nil
			}
			size = int64(binary.BigEndian.Uint64(hdr[8:16]))
		}
		if size < 8 {
			return false, nil
		}
		if typ == "moov" {
			return off+size <= st.Size(), nil
		}
		off += size
	}
	return false, nil
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
