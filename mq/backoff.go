package mq

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// backoffTimer is the package's one back-off: every reconnect loop
// (NewPublisher's first connect, the publisher's reconnects, Consume's)
// asks it how long to wait after a round of failed attempts. The delays
// grow from min by 1.5× per round, each jittered by ±50% (so that many
// devices cut off together do not all come back in the same instant), and
// never exceed max. It wraps cenkalti/backoff's ExponentialBackOff.
type backoffTimer struct {
	b   *backoff.ExponentialBackOff
	max time.Duration
}

func newBackoff(min, max time.Duration) *backoffTimer {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = min
	b.MaxInterval = max
	b.Reset()
	return &backoffTimer{b: b, max: max}
}

// next is the delay before the next attempt.
func (t *backoffTimer) next() time.Duration {
	d := t.b.NextBackOff()
	if d == backoff.Stop || d > t.max {
		d = t.max
	}
	return d
}

// reset starts again from min, after a success.
func (t *backoffTimer) reset() { t.b.Reset() }

// sleep waits d, or until one of the channels is ready (closed or sent
// on); it says whether the whole d passed. A nil channel never is.
func sleep(d time.Duration, stop ...<-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var a, b <-chan struct{}
	if len(stop) > 0 {
		a = stop[0]
	}
	if len(stop) > 1 {
		b = stop[1]
	}
	select {
	case <-t.C:
		return true
	case <-a:
	case <-b:
	}
	return false
}
