package mq

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// DefaultRoutingKey is the routing-key template when Config.RoutingKey is
// empty.
const DefaultRoutingKey = "faces.{source}"

// SchemaHeader is the AMQP header that carries meta.Schema.
const SchemaHeader = "schema"

// WriteMessage publishes one conveyor message (docs/MESSAGES.md): body is
// m encoded as JSON, which the publisher keeps; the routing key comes from
// Config.RoutingKey and m's source. Like Publish it never waits for the
// network: a slow or absent broker costs messages, counted in Stats, not
// frames. It fails only after Close.
//
// With WriteMessage a Publisher is the writer behind the line's message
// sink (pipeline/sink.Messages), which decides which frames become
// messages.
func (p *Publisher) WriteMessage(_ context.Context, m *meta.Message, body []byte) error {
	err := p.Publish(Publishing{
		RoutingKey: RoutingKey(p.cfg.RoutingKey, m.Source, m.SourceID),
		Body:       body,
		Timestamp:  m.Emitted,
		Headers:    map[string]any{SchemaHeader: meta.Schema},
	})
	if err != nil {
		return fmt.Errorf("mq: frame %d of %q: %w", m.Frame, m.Source, err)
	}
	return nil
}

func checkTemplate(t string) error {
	rest := strings.NewReplacer("{source}", "", "{source_id}", "").Replace(t)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("mq: routing key %q: only {source} and {source_id} may be used", t)
	}
	if len(t) > 255 {
		return fmt.Errorf("mq: routing key %q is longer than 255 bytes", t)
	}
	return nil
}

// RoutingKey fills a routing-key template for one source.
func RoutingKey(template, source string, sourceID int) string {
	return strings.NewReplacer("{source}", SanitizeKey(source), "{source_id}", strconv.Itoa(sourceID)).Replace(template)
}

// SanitizeKey turns a source name into one routing-key word: every run of
// characters other than ASCII letters, digits, '-' and '_' becomes one '_'
// (so '.', '*' and '#' never reach a topic key), at most 100 bytes, and
// "unnamed" for an empty result. "rtsp://10.0.0.5/live" → "rtsp_10_0_0_5_live".
func SanitizeKey(name string) string {
	var b strings.Builder
	under := false
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if ok {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > 100 {
		out = out[len(out)-100:]
	}
	if out == "" {
		out = "unnamed"
	}
	return out
}
