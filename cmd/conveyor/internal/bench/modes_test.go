package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseModes(t *testing.T) {
	tests := []struct {
		in   string
		want []Mode
		err  string
	}{
		{in: "sequential,pipelined,pipelined-2", want: []Mode{
			{Name: "sequential", Kind: Sequential, Workers: 1},
			{Name: "pipelined", Kind: Pipelined, Workers: 0}, // chosen for the machine when it runs
			{Name: "pipelined-2", Kind: Pipelined, Workers: 2},
		}},
		{in: " Python , seq", want: []Mode{{Name: "python", Kind: Python, Workers: 1}, {Name: "sequential", Kind: Sequential, Workers: 1}}},
		{in: "pipelined-1", want: []Mode{{Name: "pipelined-1", Kind: Pipelined, Workers: 1}}},
		{in: "turbo", err: `unknown mode "turbo"`},
		{in: "pipelined-0", err: "N from 1 to 16"},
		{in: "pipelined-x", err: "N from 1 to 16"},
		{in: "pipelined-17", err: "N from 1 to 16"},
		{in: "sequential,seq", err: "given twice"},
		{in: " , ", err: "no mode"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseModes(tc.in)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
