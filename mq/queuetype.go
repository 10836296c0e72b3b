package mq

import (
	"fmt"
	"time"
)

// QueueType is the type of queue Consume declares.
type QueueType int

const (
	// QueueAuto is quorum for a named queue, classic for the exclusive one.
	QueueAuto QueueType = iota
	// Classic is a queue on one node: gone with that node until it returns.
	Classic
	// Quorum is replicated with Raft on (up to five) nodes of the cluster:
	// it survives the loss of a minority of them. A confirm means a
	// majority has the message on disk.
	Quorum
	// Stream is an append-only, replicated log: messages stay after they
	// are consumed (until retention removes them), and a consumer can start
	// anywhere in it (ConsumeConfig.From).
	Stream
)

var queueTypes = []string{QueueAuto: "auto", Classic: "classic", Quorum: "quorum", Stream: "stream"}

func (t QueueType) String() string {
	if t < 0 || int(t) >= len(queueTypes) {
		return fmt.Sprintf("QueueType(%d)", int(t))
	}
	return queueTypes[t]
}

// MarshalText writes the type's name.
func (t QueueType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads classic, quorum, stream or auto ("" too).
func (t *QueueType) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = QueueAuto
		return nil
	}
	for i, name := range queueTypes {
		if string(b) == name {
			*t = QueueType(i)
			return nil
		}
	}
	return fmt.Errorf("%q: want classic, quorum or stream", b)
}

// Offset is where a stream consumer starts: the first message kept, the
// last one, the next one published (the default), or the first published at
// or after a time.
type Offset struct {
	kind offsetKind
	at   time.Time
}

type offsetKind int

const (
	offsetDefault offsetKind = iota // next
	offsetFirst
	offsetLast
	offsetNext
	offsetTime
)

// The offsets without a time.
var (
	OffsetFirst = Offset{kind: offsetFirst}
	OffsetLast  = Offset{kind: offsetLast}
	OffsetNext  = Offset{kind: offsetNext}
)

// OffsetAt is the first message published at or after t.
func OffsetAt(t time.Time) Offset { return Offset{kind: offsetTime, at: t} }

func (o Offset) String() string {
	switch o.kind {
	case offsetFirst:
		return "first"
	case offsetLast:
		return "last"
	case offsetTime:
		return o.at.Format(time.RFC3339)
	}
	return "next"
}

// MarshalText writes String.
func (o Offset) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads first, last, next ("" too) or an RFC 3339 time.
func (o *Offset) UnmarshalText(b []byte) error {
	switch s := string(b); s {
	case "":
		*o = Offset{}
	case "first":
		*o = OffsetFirst
	case "last":
		*o = OffsetLast
	case "next":
		*o = OffsetNext
	default:
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("%q: want first, last, next or a time such as 2024-05-01T12:00:00Z", s)
		}
		*o = OffsetAt(t)
	}
	return nil
}

// arg is the x-stream-offset consumer argument.
func (o Offset) arg() any {
	if o.kind == offsetTime {
		return o.at
	}
	return o.String()
}
