//go:build matprofile

package depth

import "gocv.io/x/gocv"

// matCount is the number of live Mats (-tags matprofile).
func matCount() int { return gocv.MatProfile.Count() }
