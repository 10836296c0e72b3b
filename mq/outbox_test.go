package mq

import (
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

func TestOutbox(t *testing.T) {
	m := func(id string) *message { return &message{id: id} }
	tests := []struct {
		name        string
		policy      OutboxPolicy
		run         func(o *outbox) []string // returns dropped ids
		wantDropped []string
		wantLeft    []string
	}{
		{"drop-oldest push", DropOldest, func(o *outbox) (d []string) {
			for _, id := range []string{"a", "b", "c", "d"} {
				if x := o.push(m(id)); x != nil {
					d = append(d, x.id)
				}
			}
			return d
		}, []string{"a"}, []string{"b", "c", "d"}},
		{"drop-newest push", DropNewest, func(o *outbox) (d []string) {
			for _, id := range []string{"a", "b", "c", "d"} {
				if x := o.push(m(id)); x != nil {
					d = append(d, x.id)
				}
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
			if x := o.pushFront(m("a")); x != nil {
				d = append(d, x.id)
			}
			return d
		}, []string{"a"}, []string{"b", "c", "d"}},
		{"drop-newest pushFront full drops the newest", DropNewest, func(o *outbox) (d []string) {
			o.push(m("b"))
			o.push(m("c"))
			o.push(m("d"))
			if x := o.pushFront(m("a")); x != nil {
				d = append(d, x.id)
			}
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
			o := newOutbox(3, tt.policy)
			assert.Equal(t, tt.wantDropped, tt.run(o))
			assert.Equal(t, tt.wantLeft, ids(o))
			assert.Nil(t, o.popFront())
			assert.Nil(t, o.popBack())
		})
	}
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
