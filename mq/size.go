package mq

import (
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a size in bytes, written as a number with an optional unit:
// 4096, 64KiB, 512MiB, 1GiB (powers of 1024) or 500MB, 2GB (powers of 1000).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	n      int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"KB", 1e3}, {"B", 1},
}

// String writes the size with the largest binary unit that divides it.
func (s ByteSize) String() string {
	for _, u := range sizeUnits[:4] {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText writes String.
func (s ByteSize) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a size: digits, then an optional unit.
func (s *ByteSize) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	num, mult := text, int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(text, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || (mult > 1 && n > (1<<62)/mult) {
		return fmt.Errorf("%q: want a size such as 4096, 64KiB, 512MiB or 1GiB", text)
	}
	*s = ByteSize(n * mult)
	return nil
}
