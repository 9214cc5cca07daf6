package rapyer

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/gomodule/redigo/redis"
)

// Server URLs and their credentials. A password may be in the URL
// (redis://user:password@host:port/db) or given with WithAuth; it never
// appears in an error, a log line or a printed Store: every message that
// shows a URL shows redactURL's form, and a URL that does not parse is
// described without its userinfo.

const redacted = "xxxxx"

// userinfoBounds returns where the userinfo of raw lies (between the
// scheme's "//", or its ':' in an opaque URL, and the last '@'), whether or
// not raw parses; ok is false when raw has no '@'.
func userinfoBounds(raw string) (start, end int, ok bool) {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return 0, 0, false
	}
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		return i + 3, at, true
	}
	if i := strings.Index(raw, ":"); i >= 0 && i < at {
		return i + 1, at, true
	}
	return 0, at, true
}

// redactURL returns raw with the password of its userinfo replaced by
// "xxxxx" (the user name kept), whether or not raw parses. A userinfo of
// one word is a password (redis-cli's form) and is replaced whole.
func redactURL(raw string) string {
	start, end, ok := userinfoBounds(raw)
	if !ok {
		return raw
	}
	user, _, hasPass := strings.Cut(raw[start:end], ":")
	if !hasPass {
		user = ""
	}
	return raw[:start] + user + ":" + redacted + raw[end:]
}

var quoted = regexp.MustCompile(`"[^"]*"`)

// scrub removes from msg what it quotes of raw's userinfo (net/url's
// errors quote the bytes they reject: invalid URL escape "%ss"), and the
// password itself.
func scrub(msg, raw string) string {
	start, end, ok := userinfoBounds(raw)
	if !ok {
		return msg
	}
	info := raw[start:end]
	msg = strings.ReplaceAll(msg, raw, redactURL(raw))
	msg = quoted.ReplaceAllStringFunc(msg, func(q string) string {
		if len(q) > 2 && strings.Contains(info, q[1:len(q)-1]) {
			return `"` + redacted + `"`
		}
		return q
	})
	secret := info
	if _, pass, hasPass := strings.Cut(info, ":"); hasPass {
		secret = pass
	}
	if len(secret) >= 3 {
		msg = strings.ReplaceAll(msg, secret, redacted)
	}
	return msg
}

// urlForm is what a URL that Open cannot use is told to look like.
const urlForm = "want redis://[user:password@]host:port/db or rediss://...; escape '%', '/', '?', '#' and '@' in a password (%25 %2F %3F %23 %40)"

var dbPath = regexp.MustCompile(`^(/[0-9]*)?$`)

// parseURL checks rawURL for Open and Dial; its errors wrap ErrInvalid and
// never hold the password. The scheme is redis or rediss.
func parseURL(rawURL string) (*url.URL, error) {
	shown := redactURL(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		cause := err
		if ue, ok := err.(*url.Error); ok {
			cause = ue.Err
		}
		return nil, fmt.Errorf("%w: URL %q does not parse: %s; %s", ErrInvalid, shown, scrub(cause.Error(), rawURL), urlForm)
	}
	switch u.Scheme {
	case "redis", "rediss":
	case "memory", "embedded":
		return nil, fmt.Errorf("%w: %q: for the embedded server call embedded.Open (package github.com/rapyer-go/rapyer/embedded)", ErrInvalid, shown)
	default:
		return nil, fmt.Errorf("%w: URL scheme %q: want redis:// or rediss://", ErrInvalid, u.Scheme)
	}
	switch {
	case u.Opaque != "":
		return nil, fmt.Errorf("%w: URL %q has no //host part; %s", ErrInvalid, shown, urlForm)
	case strings.Contains(u.Path, "@") || strings.Contains(u.RawQuery, "@") || strings.Contains(u.Fragment, "@"):
		// A password with an unescaped '/', '?' or '#' ends the host
		// early: the rest would be taken for the database.
		return nil, fmt.Errorf("%w: URL %q has an '@' after its host; %s", ErrInvalid, shown, urlForm)
	case !dbPath.MatchString(u.Path):
		return nil, fmt.Errorf("%w: URL %q: the path must be a database number; %s", ErrInvalid, shown, urlForm)
	}
	return u, nil
}

// target is a checked server URL: what redigo dials (the URL without its
// userinfo) and the credentials and TLS settings as dial options, so that
// redigo never holds the password in a URL it might quote.
type target struct {
	url   string
	shown string // the URL as given, password redacted
	tls   bool   // rediss://
	opts  []redis.DialOption
}

// target checks rawURL against the options (WithTLSConfig needs rediss://)
// and takes its credentials, which WithAuth overrides.
func (c *config) target(rawURL string) (*target, error) {
	u, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	t := &target{shown: redactURL(rawURL), tls: u.Scheme == "rediss"}
	if c.tls != nil {
		if u.Scheme != "rediss" {
			return nil, fmt.Errorf("%w: WithTLSConfig given with %q, which would connect without TLS: use a rediss:// URL", ErrInvalid, t.shown)
		}
		t.opts = append(t.opts, redis.DialTLSConfig(c.tls))
	}
	user, pass, hasPass := "", "", false
	if u.User != nil {
		user = u.User.Username()
		pass, hasPass = u.User.Password()
		if !hasPass && user != "" { // redis-cli's form: one word is a password
			user, pass, hasPass = "", user, true
		}
	}
	if c.auth != nil {
		user, pass, hasPass = c.auth.user, c.auth.pass, true
	}
	if hasPass {
		if user != "" {
			t.opts = append(t.opts, redis.DialUsername(user))
		}
		t.opts = append(t.opts, redis.DialPassword(pass))
	}
	u.User = nil
	t.url = u.String()
	return t, nil
}

// credentials are WithAuth's.
type credentials struct{ user, pass string }

// String hides the password.
func (a *credentials) String() string { return "{" + a.user + " " + redacted + "}" }

// GoString hides the password.
func (a *credentials) GoString() string { return a.String() }
