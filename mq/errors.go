package mq

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrBadURL: the broker URL is missing or malformed.
	ErrBadURL = errors.New("bad broker URL")
	// ErrAccessRefused: the broker refused the user name or password
	// (ACCESS_REFUSED). Retrying does not help.
	ErrAccessRefused = errors.New("access refused: wrong user name or password")
	// ErrVhost: the virtual host does not exist or the user may not use it.
	ErrVhost = errors.New("virtual host not found or not allowed")
	// ErrUnreachable: no broker answered within the start timeout.
	ErrUnreachable = errors.New("broker unreachable")
	// ErrTLS: the TLS handshake failed (certificate, CA, protocol).
	ErrTLS = errors.New("tls handshake failed")
	// ErrClosed: the publisher has been closed.
	ErrClosed = errors.New("mq: publisher closed")
	// ErrUnconfirmed: Close returned with messages the broker never
	// confirmed; they are counted as dropped (DropShutdown).
	ErrUnconfirmed = errors.New("messages left unconfirmed")
	// ErrOutboxInUse: another process holds the on-disk outbox.
	ErrOutboxInUse = errors.New("outbox directory in use by another process")
)

// classify turns a dial error into one of the sentinels. fatal errors are
// not worth retrying: they need a person to change the configuration.
func (n *node) classify(err error) (wrapped error, fatal bool) {
	msg := n.scrub(err.Error())
	var ae *amqp.Error
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &ae) && ae.Code == amqp.AccessRefused && strings.Contains(strings.ToLower(ae.Reason), "vhost"):
		return fmt.Errorf("mq: connect %s: %w (%s)", n.redacted, ErrVhost, msg), true
	case errors.As(err, &ae) && ae.Code == amqp.AccessRefused:
		return fmt.Errorf("mq: connect %s: %w (%s)", n.redacted, ErrAccessRefused, msg), true
	case errors.As(err, &ae) && ae.Code == amqp.NotAllowed:
		return fmt.Errorf("mq: connect %s: %w (%s)", n.redacted, ErrVhost, msg), true
	case errors.As(err, &tlsErr), errors.As(err, &recErr):
		return fmt.Errorf("mq: connect %s: %w (%s)", n.redacted, ErrTLS, msg), true
	case errors.As(err, &netErr), errors.Is(err, amqp.ErrClosed):
		return fmt.Errorf("mq: connect %s: %w (%s)", n.redacted, ErrUnreachable, msg), false
	}
	return fmt.Errorf("mq: connect %s: %s", n.redacted, msg), false
}

// refused says whether a broker's error to a declaration (exchange, queue,
// binding, consume) will come back on a retry: the broker refused it on its
// merits (406 PRECONDITION_FAILED, 403 ACCESS_REFUSED, 404 NOT_FOUND, 405
// RESOURCE_LOCKED, 530 NOT_ALLOWED, 540 NOT_IMPLEMENTED). A connection or
// channel that died meanwhile, or a cluster that lost its quorum, is worth
// another try on another node.
func refused(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) || !ae.Server {
		return false
	}
	switch ae.Code {
	case amqp.PreconditionFailed, amqp.AccessRefused, amqp.NotFound, amqp.ResourceLocked, amqp.NotAllowed, amqp.NotImplemented:
		return true
	}
	return false
}

// IsFatal reports whether err (from NewPublisher or Consume) needs a change
// of configuration rather than a retry: bad URL, wrong credentials, missing
// vhost, TLS failure.
func IsFatal(err error) bool {
	return errors.Is(err, ErrAccessRefused) || errors.Is(err, ErrVhost) || errors.Is(err, ErrBadURL) || errors.Is(err, ErrTLS)
}
