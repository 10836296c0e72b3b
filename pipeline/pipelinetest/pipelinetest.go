// Package pipelinetest holds what the tests of every conveyor package share:
// a TestMain that checks for leaked goroutines and, under -tags matprofile,
// for leaked gocv Mats.
package pipelinetest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// VerifyMain runs the package's tests, then fails the run if a goroutine is
// still running or (with -tags matprofile) a Mat was not closed. Use it as
//
//	func TestMain(m *testing.M) { pipelinetest.VerifyMain(m) }
func VerifyMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if n := MatCount(); n != 0 {
			fmt.Fprintf(os.Stderr, "pipelinetest: %d gocv Mats were not closed:\n%s\n", n, MatLeaks())
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(opts...); err != nil {
			fmt.Fprintf(os.Stderr, "pipelinetest: goroutines left running: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
