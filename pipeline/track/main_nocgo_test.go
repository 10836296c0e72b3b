//go:build !cgo

package track

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks for leaked goroutines (without cgo there are no Mats).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
