//go:build matprofile

package camera

import "gocv.io/x/gocv"

func matCount() int { return gocv.MatProfile.Count() }

const matProfiling = true
