package mq

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The on-disk outbox's records (store.go): each is
//
//	u32 length of payload | u32 CRC-32C of payload | payload
//
// (little endian), the payload a kind byte and then, for a message: u64
// sequence number, i64 Unix nanoseconds, then id, routing key and headers
// (JSON) as uvarint-length-prefixed strings, then the body; for an ack: a
// uvarint count and that many u64 sequence numbers.

const (
	recHeader   = 8
	recMessage  = 1
	recAck      = 2
	maxRecord   = 256 << 20
	segPrefix   = "outbox-"
	segSuffix   = ".log"
	ackBatchMax = 4096
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// scan calls fn for every good record of seg, in order, and returns the
// offset after the last good one.
func (s *store) scan(seg *segment, fn func(off int64, payload []byte)) (int64, error) {
	if _, err := seg.f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("mq: outbox: %w", err)
	}
	r := bufio.NewReaderSize(seg.f, 256<<10)
	var off int64
	var hdr [recHeader]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return off, nil // the end, or a torn header
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n == 0 || n > maxRecord {
			return off, nil
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return off, nil
		}
		if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return off, nil
		}
		if payload[0] != recMessage && payload[0] != recAck {
			return off, nil
		}
		fn(off, payload)
		off += int64(recHeader) + int64(n)
	}
}

// encodeMessage makes a message record's payload.
func encodeMessage(m *message, seq uint64) ([]byte, error) {
	var hdr []byte
	if len(m.headers) > 0 {
		var err error
		if hdr, err = json.Marshal(m.headers); err != nil {
			return nil, fmt.Errorf("mq: outbox: headers: %w", err)
		}
	}
	b := make([]byte, 0, 1+16+3*binary.MaxVarintLen32+len(m.id)+len(m.key)+len(hdr)+len(m.body))
	b = append(b, recMessage)
	b = binary.LittleEndian.AppendUint64(b, seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.ts.UnixNano()))
	for _, s := range [][]byte{[]byte(m.id), []byte(m.key), hdr} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, m.body...), nil
}

// decodeMessage reads a message record's payload; the body only when
// withBody (it stays on disk otherwise).
func decodeMessage(p []byte, withBody bool) (*message, uint64, bool) {
	if len(p) < 17 || p[0] != recMessage {
		return nil, 0, false
	}
	seq := binary.LittleEndian.Uint64(p[1:9])
	m := &message{ts: time.Unix(0, int64(binary.LittleEndian.Uint64(p[9:17])))}
	rest := p[17:]
	var fields [3][]byte
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, 0, false
		}
		fields[i] = rest[k : k+int(n)]
		rest = rest[k+int(n):]
	}
	m.id, m.key = string(fields[0]), string(fields[1])
	if len(fields[2]) > 0 {
		var h map[string]any
		if json.Unmarshal(fields[2], &h) != nil {
			return nil, 0, false
		}
		m.headers = amqp.Table(h)
	}
	if withBody {
		m.body = slices.Clone(rest)
	}
	m.size = messageSize(m, len(rest))
	return m, seq, true
}

func decodeAck(p []byte) []uint64 {
	n, k := binary.Uvarint(p[1:])
	if k <= 0 {
		return nil
	}
	rest := p[1+k:]
	if n > uint64(len(rest)/8) {
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(rest[8*i:])
	}
	return out
}
