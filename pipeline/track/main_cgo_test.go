//go:build cgo

package track

import (
	"testing"

	"github.com/conveyor-vision/conveyor/pipeline/pipelinetest"
)

// TestMain checks for leaked goroutines and, with -tags matprofile, Mats.
func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }
