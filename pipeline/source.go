package pipeline

import "context"

// Limit wraps src so that it ends (ErrEndOfStream) after n frames.
func Limit(src Source, n int64) Source { return &limited{Source: src, left: n} }

type limited struct {
	Source
	left int64
}

func (l *limited) Read(ctx context.Context) (*Frame, error) {
	if l.left <= 0 {
		return nil, ErrEndOfStream
	}
	f, err := l.Source.Read(ctx)
	if err == nil {
		l.left--
	}
	return f, err
}

// Warnings passes on the wrapped source's warnings, if it has any.
func (l *limited) Warnings() []string {
	if w, ok := l.Source.(interface{ Warnings() []string }); ok {
		return w.Warnings()
	}
	return nil
}
