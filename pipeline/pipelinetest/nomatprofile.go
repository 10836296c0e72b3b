//go:build !matprofile

package pipelinetest

// MatProfiling is true when built with -tags matprofile; without it Mats are
// not counted and MatCount is always 0.
const MatProfiling = false

// MatCount is the number of gocv Mats alive now (0 without -tags matprofile).
func MatCount() int { return 0 }

// MatLeaks describes where the live Mats were made ("" without the tag).
func MatLeaks() string { return "" }
