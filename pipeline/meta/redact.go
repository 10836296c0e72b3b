package meta

import (
	"regexp"
	"strings"
)

// Redacted is what RedactURI writes in place of a secret.
const Redacted = "xxxxx"

// RedactURI hides the secrets in s so that it can be printed, stored or
// drawn: conveyor's one redaction, used for source names (Message.Source,
// /metrics labels, /api/sources, the OSD), error lines and logs. s is a
// source URI, a broker URL, or any text that holds URIs (an error, a
// GStreamer pipeline).
//
// It hides the password of every scheme://user:password@host (the user
// stays) and the value of every key=value whose key names a secret
// (password, pwd, user-pw, token, key, signature, ...: query parameters,
// GStreamer properties). It does not rely on Go's URL parser, which
// rejects many real passwords (50%off!, a#b, a/b): the user information
// runs from "://" to the last "@" of the URI, so a password may hold any
// character. When in doubt it hides too much, never too little: a URI
// whose path has an "@" and whose host has a port loses its host too.
//
// When s starts with a scheme other than gst://, all of s is one URI, so a
// password may even hold spaces. Otherwise (text, a GStreamer pipeline)
// each URI ends at the first space or quote: a password with a space in
// free text cannot be told from the words around it, so whoever knows the
// raw URI replaces it with its redacted form first (pipeline.Line does
// this for its sources' errors).
//
// RedactURI is idempotent, and fast for strings with no "@" and no "="
// (file names), which it returns as they are.
func RedactURI(s string) string {
	if !strings.ContainsAny(s, "@=") {
		return s
	}
	if m := schemeRE.FindStringSubmatchIndex(s); m != nil && m[0] == 0 && !strings.EqualFold(s[m[2]:m[3]], "gst") {
		return redactKeys(redactUserinfo(s))
	}
	var b strings.Builder
	rest := s
	for {
		m := schemeRE.FindStringIndex(rest)
		if m == nil {
			b.WriteString(rest)
			break
		}
		end := m[0] + strings.IndexFunc(rest[m[0]:], endOfURI)
		if end < m[0] {
			end = len(rest)
		}
		b.WriteString(rest[:m[0]])
		b.WriteString(redactUserinfo(rest[m[0]:end]))
		rest = rest[end:]
	}
	return redactKeys(b.String())
}

// schemeRE finds "scheme://".
var schemeRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*)://`)

// endOfURI ends a URI inside text.
func endOfURI(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// redactUserinfo hides the password of u, one URI: everything between the
// first ":" after "://" and the last "@", when there is such a ":".
func redactUserinfo(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return u
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return u
	}
	return u[:i+3] + user + ":" + Redacted + rest[at:]
}

// secretKeyRE finds key=value pairs whose key names a secret: after a
// start, "?", "&", ";" or a space, a key that is one of the names below,
// alone or after a prefix ending in "-" or "_" (user-pw, access_token,
// x-amz-signature). The value runs to the next separator.
var secretKeyRE = regexp.MustCompile(`(?i)(^|[?&;\s])((?:[a-z0-9_.-]*[-_])?(?:password|passwd|pass|pwd|pw|secret|token|key|apikey|auth|sig|signature|credentials?))=([^&;#\s"'` + "`" + `]*)`)

// redactKeys hides the values of secret key=value pairs.
func redactKeys(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return secretKeyRE.ReplaceAllStringFunc(s, func(m string) string {
		eq := strings.IndexByte(m, '=')
		if m[eq+1:] == "" {
			return m
		}
		return m[:eq+1] + Redacted
	})
}
