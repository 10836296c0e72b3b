package mq

import (
	"net/url"
	"strings"

	"github.com/conveyor-vision/conveyor/pipeline/meta"
)

// RedactURL returns u with its password replaced by "xxxxx", fit for
// messages and logs, whether or not the URL parses (meta.RedactURI: the
// user information runs from "://" to the last "@", so a password with an
// unencoded "#", "/", "?" or "@" in it is redacted whole).
func RedactURL(u string) string { return meta.RedactURI(u) }

// userinfo finds the user information of a URL as meta.RedactURI does:
// where it starts, the index of the "@" that ends it (-1: none) and of the
// ":" before the password (-1: no password).
func userinfo(u string) (start, at, colon int) {
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + 3
	}
	at = strings.LastIndex(u[start:], "@")
	if at < 0 {
		return start, -1, -1
	}
	at += start
	colon = strings.Index(u[start:at], ":")
	if colon >= 0 {
		colon += start
	}
	return start, at, colon
}

// urlSecret is the password of a URL as written in it ("" if none), found
// as RedactURL finds it.
func urlSecret(u string) string {
	_, at, colon := userinfo(u)
	if at < 0 || colon < 0 {
		return ""
	}
	return u[colon+1 : at]
}

// scrubSecret removes a password from s: as written, percent-decoded and
// percent-encoded, in case a library quoted it in any of those forms. A
// password shorter than 3 bytes is left alone: replacing every "a" in a
// message would garble it, and such a password protects nothing.
func scrubSecret(s, secret string) string {
	if len(secret) < 3 {
		return s
	}
	forms := []string{secret, url.PathEscape(secret), url.QueryEscape(secret)}
	if dec, err := url.PathUnescape(secret); err == nil {
		forms = append(forms, dec)
	}
	for _, f := range forms {
		if f != "" {
			s = strings.ReplaceAll(s, f, "xxxxx")
		}
	}
	return s
}
