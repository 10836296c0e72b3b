package pipeline

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type countingWorker struct{ closed *int }

func (w countingWorker) Process(context.Context, *Frame) error { return nil }
func (w countingWorker) Close() error                          { *w.closed++; return nil }

// TestNewWorkers: all n workers, or none (those made before a failure are
// closed).
func TestNewWorkers(t *testing.T) {
	closed, made := 0, 0
	newWorker := func() (Processor, error) {
		if made == 2 {
			return nil, errors.New("no third engine")
		}
		made++
		return countingWorker{&closed}, nil
	}
	ws, err := NewWorkers(2, newWorker)
	require.NoError(t, err)
	assert.Len(t, ws, 2)
	assert.Zero(t, closed)

	closed, made = 0, 0
	ws, err = NewWorkers(3, newWorker)
	assert.EqualError(t, err, "no third engine")
	assert.Nil(t, ws)
	assert.Equal(t, 2, closed, "the two made are closed")
}
