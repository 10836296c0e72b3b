//go:build !matprofile

package camera

func matCount() int { return 0 }

const matProfiling = false
