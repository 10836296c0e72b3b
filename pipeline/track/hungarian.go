package track

import "math"

// hungarian solves the assignment problem (Kuhn-Munkres, in the O(n²m)
// shortest-augmenting-path form) on a score matrix, maximizing the total
// score. Its buffers are reused, so a steady state allocates nothing.
type hungarian struct {
	u, v, minv []float64
	p, way     []int
	used       []bool
}

// solve assigns each of n rows at most one of m columns, maximizing the sum
// of score[i*m+j] (scores in [0, 1]). assign[i] gets the column of row i, or
// -1 when there are more rows than columns and row i got none.
func (h *hungarian) solve(n, m int, score []float64, assign []int) {
	for i := range assign[:n] {
		assign[i] = -1
	}
	// The algorithm wants rows <= columns: transpose when needed.
	rows, cols := n, m
	cost := func(r, c int) float64 { return 1 - score[r*m+c] }
	if n > m {
		rows, cols = m, n
		cost = func(r, c int) float64 { return 1 - score[c*m+r] }
	}
	h.u = grow(h.u, rows+1)
	h.v = grow(h.v, cols+1)
	h.minv = grow(h.minv, cols+1)
	h.p = grow(h.p, cols+1)
	h.way = grow(h.way, cols+1)
	h.used = grow(h.used, cols+1)
	u, v, p, way, minv, used := h.u, h.v, h.p, h.way, h.minv, h.used
	for i := range u {
		u[i] = 0
	}
	for j := range v {
		v[j], p[j], way[j] = 0, 0, 0
	}
	for i := 1; i <= rows; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= cols; j++ {
				if used[j] {
					continue
				}
				cur := cost(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= cols; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	for j := 1; j <= cols; j++ {
		if p[j] == 0 {
			continue
		}
		r, c := p[j]-1, j-1
		if n > m {
			r, c = c, r
		}
		assign[r] = c
	}
}
