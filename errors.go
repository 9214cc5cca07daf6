package rapyer

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"

	"github.com/rapyer-go/rapyer/ops"
)

// Sentinel errors. Every error returned by this package and by the handles in
// package types either is one of these or wraps one in an *Error, so
// errors.Is(err, rapyer.ErrNotFound) works wherever a caller would try it.
var (
	// ErrNotFound: the object (or the id asked for) does not exist.
	ErrNotFound = errors.New("rapyer: not found")
	// ErrExists: Insert found an object with the same id; nothing was written.
	ErrExists = errors.New("rapyer: already exists")
	// ErrConflict: a concurrent writer won; nothing was written.
	ErrConflict = errors.New("rapyer: conflict")
	// ErrWrongType: a key holds a Redis type other than the one the model expects.
	ErrWrongType = errors.New("rapyer: wrong Redis type")
	// ErrOverflow: the result of an integer or float operation does not fit its
	// type; nothing was written.
	ErrOverflow = errors.New("rapyer: overflow")
	// ErrDivideByZero: FloorDiv, Mod or Div by zero; nothing was written.
	ErrDivideByZero = errors.New("rapyer: division by zero")
	// ErrDecode: data found in Redis does not decode into the field's type.
	ErrDecode = errors.New("rapyer: cannot decode stored value")
	// ErrInvalid: an argument was rejected before anything was sent (empty or
	// over-long id, NaN, negative exponent, ...).
	ErrInvalid = errors.New("rapyer: invalid argument")
	// ErrUnbound: a handle or model was used before it was bound to a Store
	// (create objects with Schema.New or Schema.Get). The same value as
	// ops.ErrUnbound, which handles written with package ops return.
	ErrUnbound = ops.ErrUnbound
	// ErrOutOfRange: a list index outside the list (List.SetAt); nothing was
	// written.
	ErrOutOfRange = errors.New("rapyer: index out of range")
	// ErrLocked: another owner holds the lock (TryLock, or Lock whose context
	// ended while waiting, in which case the error also wraps the context's
	// error).
	ErrLocked = errors.New("rapyer: locked")
	// ErrLockLost: the lock is no longer held by this owner (it expired,
	// perhaps taken by another since, or was released already); nothing was
	// changed.
	ErrLockLost = errors.New("rapyer: lock lost")
	// ErrNotRun is Result.Get's error before its Batch or Tx has run.
	ErrNotRun = errors.New("rapyer: queued operation has not run")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("rapyer: store closed")
	// ErrOutOfMemory: the server is out of memory (maxmemory reached with
	// the noeviction policy) and refused a write; nothing was written.
	// Reads still work.
	ErrOutOfMemory = errors.New("rapyer: server out of memory")
	// ErrReadOnly: the server is a read-only replica and refused a write;
	// nothing was written.
	ErrReadOnly = errors.New("rapyer: server is read-only")
	// ErrAuth: the server refused the credentials (WRONGPASS: wrong user
	// or password, or a disabled user), or wants some (NOAUTH: no password
	// given); Open returns it. The error never holds the password.
	ErrAuth = errors.New("rapyer: authentication failed")
	// ErrNoPermission: the server's ACL refused a command or a key to this
	// user (NOPERM); the error keeps the server's text, which names the
	// command or key. Nothing was written: see README, "TLS, AUTH and
	// ACL", for the ACL rapyer needs.
	ErrNoPermission = errors.New("rapyer: no permission")
	// ErrUnavailable: a cluster could not serve the operation before the
	// context's deadline (5 s without one): its slot was being migrated
	// (TRYAGAIN), the cluster was down or failing over (CLUSTERDOWN), or
	// no node serving it could be reached. Nothing was sent that could
	// have run, unless the error also wraps a network error.
	ErrUnavailable = errors.New("rapyer: cluster unavailable")
	// ErrNotReplicated: a write sent under WithWait was applied on the
	// master, but WAIT counted fewer replicas acknowledging it than asked
	// before its timeout. The write happened (local values took the
	// server's answers as on success); a failover before the replicas catch
	// up may still lose it. The error says how many of how many (and, on a
	// cluster, which node).
	ErrNotReplicated = errors.New("rapyer: write not acknowledged by enough replicas")
)

// isOOM reports whether err is the server's out-of-memory refusal.
func isOOM(err error) bool {
	return err != nil && strings.Contains(err.Error(), "OOM command not allowed")
}

// serverStateError maps the server's refusals that depend on its state, not
// on the data (out of memory, read-only replica), to their sentinels,
// keeping the server's text; nil for other errors.
func serverStateError(msg string) error {
	switch {
	case strings.Contains(msg, "OOM command not allowed"):
		return &causeError{sentinel: ErrOutOfMemory, msg: msg}
	case strings.HasPrefix(msg, "READONLY ") || strings.Contains(msg, " READONLY You can't write"):
		return &causeError{sentinel: ErrReadOnly, msg: msg}
	case strings.HasPrefix(msg, "NOAUTH ") || strings.HasPrefix(msg, "WRONGPASS ") ||
		strings.HasPrefix(msg, "ERR AUTH ") && strings.Contains(msg, "without any password configured"):
		return &causeError{sentinel: ErrAuth, msg: msg}
	case strings.Contains(msg, "can't run this command or subcommand script: "):
		// A script's command refused by the ACL (Redis 7.0 does not say
		// which): the script's line names it.
		return &causeError{sentinel: ErrNoPermission, msg: scriptRefusal(msg)}
	case strings.Contains(msg, "NOPERM "):
		// Alone, or inside a script's error ("ERR Error running script ...
		// NOPERM ..." on some versions).
		return &causeError{sentinel: ErrNoPermission, msg: msg[strings.Index(msg, "NOPERM "):]}
	}
	return nil
}

var refusedAt = regexp.MustCompile(`script: ([0-9a-f]{40}), on @user_script:([0-9]+)`)
var callOf = regexp.MustCompile(`redis\.p?call\(\s*'([A-Za-z]+)'`)

// scriptRefusal names the command of the script line an ACL refusal
// points at ("the user executing the script can't run this command ...
// script: <sha>, on @user_script:<line>").
func scriptRefusal(msg string) string {
	m := refusedAt.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	n, _ := strconv.Atoi(m[2])
	for _, sc := range lua.All() {
		for _, v := range []*lua.Script{sc, sc.Versioned()} {
			if v == nil || v.SHA() != m[1] {
				continue
			}
			lines := strings.Split(v.Src(), "\n")
			if n < 1 || n > len(lines) {
				return msg
			}
			line := strings.TrimSpace(lines[n-1])
			if c := callOf.FindStringSubmatch(line); c != nil {
				return fmt.Sprintf("script %s may not run the '%s' command (line %d: %s); Redis: %s", v.Name(), strings.ToLower(c[1]), n, line, msg)
			}
			if strings.Contains(line, "redis.call(cmd,") { // prelude.lua's write_containers
				return fmt.Sprintf("script %s may not run one of the container writes ('rpush', 'hset', 'sadd', 'zadd') (line %d: %s); Redis: %s", v.Name(), n, line, msg)
			}
			return fmt.Sprintf("script %s may not run a command of its line %d: %s; Redis: %s", v.Name(), n, line, msg)
		}
	}
	return msg
}

// Error carries the detail of a failed operation: what was attempted, on which
// object and field, and the cause. Its Unwrap returns the cause, which is one of
// the sentinels above or an error from the network or the context.
type Error struct {
	Op    string // operation, e.g. "Save", "Int.Incr", "Get"
	Model string // model name, when known
	ID    string // object id, when known
	Field string // dotted field name, when the error concerns one field
	Err   error  // the cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("rapyer: ")
	b.WriteString(e.Op)
	if e.Model != "" {
		b.WriteString(" ")
		b.WriteString(e.Model)
		if e.ID != "" {
			b.WriteString(" id=")
			b.WriteString(quoteID(e.ID))
		}
	}
	if e.Field != "" {
		b.WriteString(" field ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "rapyer: "))
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func quoteID(id string) string {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return strings.ToValidUTF8(`"`+id+`"`, "?")
}

// detail wraps cause once into an *Error; an *Error passes through with its
// missing parts filled in.
func detail(op, model, id, field string, cause error) error {
	if cause == nil {
		return nil
	}
	if _, reply := cause.(redis.Error); reply { // a server's reply not mapped yet
		cause = scriptError(cause)
	}
	var e *Error
	if errors.As(cause, &e) {
		if e.Model == "" {
			e.Model, e.ID = model, id
		}
		if e.Field == "" {
			e.Field = field
		}
		return e
	}
	return &Error{Op: op, Model: model, ID: id, Field: field, Err: cause}
}

// scriptError turns the error replies of the embedded scripts (a code word,
// then a message) and Redis's own errors into sentinel-wrapping causes.
func scriptError(err error) error {
	msg := err.Error()
	code, rest, _ := strings.Cut(msg, " ")
	var sentinel error
	switch code {
	case "NOTFOUND":
		sentinel = ErrNotFound
	case "EXISTS":
		sentinel = ErrExists
	case "CONFLICT":
		sentinel = ErrConflict
	case "OVERFLOW":
		sentinel = ErrOverflow
	case "DIVZERO":
		sentinel = ErrDivideByZero
	case "DECODE":
		sentinel = ErrDecode
	case "INVALID":
		sentinel = ErrInvalid
	case "RANGE":
		sentinel = ErrOutOfRange
	case "WRONGTYPE":
		sentinel = ErrWrongType
	case "LOCKLOST":
		sentinel = ErrLockLost
	default:
		if e := serverStateError(msg); e != nil {
			return e
		}
		// The embedded server wraps an error raised inside a script
		// ("ERR Error compiling script ... WRONGTYPE ..."); Redis does not.
		if i := strings.Index(msg, "WRONGTYPE "); i > 0 {
			return &causeError{sentinel: ErrWrongType, msg: strings.TrimPrefix(msg[i:], "WRONGTYPE ")}
		}
		return err
	}
	if rest == "" {
		return sentinel
	}
	return &causeError{sentinel: sentinel, msg: rest}
}

// causeError is a sentinel with the server's explanation attached.
type causeError struct {
	sentinel error
	msg      string
}

func (c *causeError) Error() string { return c.sentinel.Error() + ": " + c.msg }
func (c *causeError) Unwrap() error { return c.sentinel }

// asCause finds a *causeError in err's chain.
func asCause(err error, target **causeError) bool { return errors.As(err, target) }
