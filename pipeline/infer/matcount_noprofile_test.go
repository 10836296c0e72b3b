//go:build !matprofile

package infer

// matCount needs -tags matprofile; without it Mat balance is not checked.
func matCount() int { return 0 }

const matProfiled = false
