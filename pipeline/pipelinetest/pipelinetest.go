// Package pipelinetest holds what the tests of every conveyor package share:
// a TestMain that checks for leaked goroutines and, under -tags matprofile,
// for leaked gocv Mats, and the resident size for memory benchmarks.
package pipelinetest

import (
	"fmt"
	"image"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"gocv.io/x/gocv"
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

// RSSKiB is the process's resident size in KiB (VmRSS), for benchmarks
// that report memory grown per operation; it fails tb where /proc is
// missing.
func RSSKiB(tb testing.TB) int {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// MeanAbsDiff is the mean absolute difference of images a and b inside r,
// in grey levels averaged over their three channels.
func MeanAbsDiff(a, b gocv.Mat, r image.Rectangle) float64 {
	ra, rb := a.Region(r), b.Region(r)
	defer ra.Close()
	defer rb.Close()
	d := gocv.NewMat()
	defer d.Close()
	gocv.AbsDiff(ra, rb, &d)
	m := d.Mean()
	return (m.Val1 + m.Val2 + m.Val3) / 3
}
