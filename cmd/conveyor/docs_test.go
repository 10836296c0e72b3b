package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInputsCount keeps the figure at the top of docs/BAD-INPUTS.md
// true: each table row is one bad input, or N when its first cell ends
// with "(N)".
func TestBadInputsCount(t *testing.T) {
	doc, err := os.ReadFile("../../docs/BAD-INPUTS.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`\*\*Bad inputs tried: (\d+)\*\*`).FindSubmatch(doc)
	require.NotNil(t, m, "the figure is in docs/BAD-INPUTS.md")
	stated, _ := strconv.Atoi(string(m[1]))
	times := regexp.MustCompile(`\((\d+)\)\s*$`)
	counted := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| bad input |") {
			continue
		}
		first, _, _ := strings.Cut(line[2:], " | ")
		n := 1
		if m := times.FindStringSubmatch(first); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		counted += n
	}
	assert.Equal(t, counted, stated, "docs/BAD-INPUTS.md says %d bad inputs, its tables hold %d: update the figure", stated, counted)
}
