package mq

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func ids(o *outbox) []string {
	var out []string
	for o.len() > 0 {
		out = append(out, o.popFront().id)
	}
	return out
}

func dropIDs(ms []*message) (out []string) {
	for _, m := range ms {
		out = append(out, m.id)
	}
	return out
}

func TestOutbox(t *testing.T) {
	m := func(id string) *message { return &message{id: id, size: 1} }
	tests := []struct {
		name        string
		policy      OutboxPolicy
		run         func(o *outbox) []string // returns dropped ids
		wantDropped []string
		wantLeft    []string
	}{
		{"drop-oldest push", DropOldest, func(o *outbox) (d []string) {
			for _, id := range []string{"a", "b", "c", "d"} {
				d = append(d, dropIDs(o.push(m(id)))...)
			}
			return d
		}, []string{"a"}, []string{"b", "c", "d"}},
		{"drop-newest push", DropNewest, func(o *outbox) (d []string) {
			for _, id := range []string{"a", "b", "c", "d"} {
				d = append(d, dropIDs(o.push(m(id)))...)
			}
			return d
		}, []string{"d"}, []string{"a", "b", "c"}},
		{"pushFront keeps order", DropOldest, func(o *outbox) (d []string) {
			o.push(m("c"))
			o.pushFront(m("b"))
			o.pushFront(m("a"))
			return nil
		}, nil, []string{"a", "b", "c"}},
		{"drop-oldest pushFront full drops the requeued one", DropOldest, func(o *outbox) (d []string) {
			o.push(m("b"))
			o.push(m("c"))
			o.push(m("d"))
			d = append(d, dropIDs(o.pushFront(m("a")))...)
			return d
		}, []string{"a"}, []string{"b", "c", "d"}},
		{"drop-newest pushFront full drops the newest", DropNewest, func(o *outbox) (d []string) {
			o.push(m("b"))
			o.push(m("c"))
			o.push(m("d"))
			d = append(d, dropIDs(o.pushFront(m("a")))...)
			return d
		}, []string{"d"}, []string{"a", "b", "c"}},
		{"wraps around", DropOldest, func(o *outbox) (d []string) {
			for i := 0; i < 10; i++ {
				o.push(m(string(rune('a' + i))))
				if i%2 == 0 {
					o.popFront()
				}
			}
			return nil
		}, nil, []string{"h", "i", "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOutbox(3, 0, tt.policy)
			assert.Equal(t, tt.wantDropped, tt.run(o))
			assert.Equal(t, tt.wantLeft, ids(o))
			assert.Nil(t, o.popFront())
			assert.Nil(t, o.popBack())
		})
	}
}

// TestOutboxBytes bounds the outbox by size: drop-oldest drops as many old
// messages as it takes, drop-newest refuses, and a message larger than the
// bound never fits.
func TestOutboxBytes(t *testing.T) {
	m := func(id string, size int64) *message { return &message{id: id, size: size} }
	t.Run("drop-oldest", func(t *testing.T) {
		o := newOutbox(0, 10, DropOldest)
		assert.Empty(t, o.push(m("a", 4)))
		assert.Empty(t, o.push(m("b", 4)))
		assert.Equal(t, []string{"a", "b"}, dropIDs(o.push(m("c", 9))))
		assert.Equal(t, []string{"d"}, dropIDs(o.push(m("d", 11))), "larger than the bound")
		assert.EqualValues(t, 9, o.bytes)
		assert.Equal(t, []string{"c"}, ids(o))
		assert.Zero(t, o.bytes)
	})
	t.Run("drop-newest", func(t *testing.T) {
		o := newOutbox(0, 10, DropNewest)
		assert.Empty(t, o.push(m("a", 4)))
		assert.Empty(t, o.push(m("b", 4)))
		assert.Equal(t, []string{"c"}, dropIDs(o.push(m("c", 3))))
		assert.Equal(t, []string{"b"}, dropIDs(o.pushFront(m("z", 5))), "a requeued message pushes out the newest")
		assert.Equal(t, []string{"z", "a"}, ids(o))
	})
	t.Run("grows without a count bound", func(t *testing.T) {
		o := newOutbox(0, 0, DropOldest)
		for i := range 1000 {
			assert.Empty(t, o.push(m(fmt.Sprint(i), 1)))
		}
		o.pushFront(m("first", 1))
		got := ids(o)
		assert.Len(t, got, 1001)
		assert.Equal(t, "first", got[0])
		assert.Equal(t, "999", got[1000])
	})
}

func TestParseOutboxPolicy(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want OutboxPolicy
		err  bool
	}{{"", DropOldest, false}, {"drop-oldest", DropOldest, false}, {"drop-newest", DropNewest, false}, {"block", DropOldest, true}} {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParseOutboxPolicy(tt.in)
			if tt.err {
				assert.Error(t, err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.want, p)
			assert.Equal(t, tt.want.String(), map[OutboxPolicy]string{DropOldest: "drop-oldest", DropNewest: "drop-newest"}[p])
		})
	}
}
