//go:build matprofile

package pipelinetest

import (
	"strings"

	"gocv.io/x/gocv"
)

// MatProfiling is true when built with -tags matprofile.
const MatProfiling = true

// MatCount is the number of gocv Mats alive now.
func MatCount() int { return gocv.MatProfile.Count() }

// MatLeaks describes where the live Mats were made.
func MatLeaks() string {
	var b strings.Builder
	gocv.MatProfile.WriteTo(&b, 1)
	return b.String()
}
