package rapyer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
)

// Field operations on a unique field of a model that claims (claim.go).
// SetIfAbsent and CompareAndSwap (lua/scalar.lua's setnx and cas) know the
// value they write: it is claimed first, as Save claims. An operation whose
// value the script computes from the stored one (Append, Repeat, Toggle,
// Incr, Mul, Time.Add, ...) learns it from the script itself: the call
// carries a claim guard in its index section (lua/index.lua), "?" first,
// and the script replies "CLAIM <hex>" with the value it would write,
// writing nothing; that value is claimed, and the call is sent again
// guarded by it ("=" .. value): the script writes only when it computes
// exactly that value (the same rules, the same errors, in the same script
// as on one server), else it replies the new value, which is claimed in
// turn. See DESIGN.md, "Decided for computed values of unique fields".

// fieldRounds bounds how often a computed operation learns a new value
// (the stored one kept moving under it) before ErrConflict; the context
// bounds it too. From the second round on, each waits a random pause of
// up to a millisecond per round (at most fieldPauseMax), so that writers
// of one object racing each other spread out.
const (
	fieldRounds   = 64
	fieldPauseMax = 20 * time.Millisecond
)

// fieldClaims is the claim of a field operation on a unique field of a
// model that claims: SetIfAbsent's and CompareAndSwap's value; for an
// operation whose value the script computes, no claim but the field's spec
// (computed: see computedClaimed). A script other than the scalar ones
// (lua/scalar.lua, int.lua, float.lua: those that check the claim guard)
// is ErrInvalid there.
func (m *Model) fieldClaims(op string, specs []indexSpec, sc *lua.Script, args []any) (cs []*claim, computed *indexSpec, err error) {
	if len(specs) == 0 || !specs[0].unique || !m.claiming() {
		return nil, nil, nil
	}
	var v any
	if sc == lua.Scalar && len(args) >= 2 {
		switch args[0] {
		case "setnx":
			v = args[1]
		case "cas":
			v = args[len(args)-1]
		}
	}
	var b []byte
	switch x := v.(type) {
	case []byte:
		b = x
	case string:
		b = []byte(x)
	default:
		if sc != lua.Scalar && sc != lua.Int && sc != lua.Float {
			// Only these scripts check the claim guard (idx_field_check).
			return nil, nil, detail(op, m.sc.name, m.id, specs[0].name, fmt.Errorf("%w: on a cluster, a unique field of a model over several shards takes only values claimed before the write: %s runs %s, which does not check a claimed value", ErrInvalid, op, sc.Name()))
		}
		return nil, &specs[0], nil
	}
	if c := m.claimOf(specs[0], b); c != nil {
		return []*claim{c}, nil, nil
	}
	return nil, nil, nil
}

// computedQueued is the error of an operation whose value the server
// computes, on a unique field of a model that claims, called with a queue
// context: its value depends on what runs before it in the queue, so it
// cannot be learnt and claimed before the queue is sent, and a guard that
// fails inside the queue could not be retried (in a Tx the other
// operations would have run).
func computedQueued(m *Model, op, field string) error {
	return detail(op, m.sc.name, m.id, field, fmt.Errorf("%w: on a cluster, %s on a unique field of a model over several shards cannot be queued in a Batch or Tx: the value it computes depends on what runs before it in the queue and must be claimed before it is written (call it outside the queue, or Set the value and queue Save or Update)", ErrInvalid, op))
}

// computedClaimed runs a field script (sc, keys, full: its call, full
// ending with the field's index section) whose value the script computes,
// on the unique field sp of a model that claims: the call with the guard
// "?" (one round trip; the operation's own reply and errors when it does
// not change the value, nothing claimed), the value it asks for claimed
// (one, more when taken by a stale claim), the call guarded by that value
// (one), the claim confirmed (one). A value taken is ErrExists naming
// field and value, nothing written. It returns the script's reply and
// error; a WAIT short of its count on the write or the claim goes to
// *short.
func (m *Model) computedClaimed(ctx context.Context, op string, sp indexSpec, sc *lua.Script, keys []string, full []any, short *error) (any, error) {
	guard := "?"
	var cs []*claim
	for round := 0; ; round++ {
		reply, err := m.st.eval(ctx, sc, keys, withGuard(full, guard)...)
		hard, sh := shortOf(err)
		text, asked, derr := claimAsked(hard)
		if derr != nil {
			hard = derr
		}
		if !asked {
			m.st.settle(ctx, cs, hard)
			if hard == nil && *short == nil {
				*short = sh
			}
			return reply, hard
		}
		// Nothing written: the script computes text, not what was claimed.
		m.st.settle(ctx, cs, errNotWritten)
		cs = nil
		if round == fieldRounds {
			return nil, detail(op, m.sc.name, m.id, sp.name, fmt.Errorf("%w: the stored value kept changing while its result was claimed (%d rounds); nothing was written", ErrConflict, round))
		}
		if round > 0 {
			d := min(time.Duration(round)*time.Millisecond, fieldPauseMax)
			if err := pause(ctx, rand.N(d)+1); err != nil {
				return nil, err
			}
		} else if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c := m.claimOf(sp, []byte(text)); c != nil {
			cs = []*claim{c}
			errs, cshort, err := m.st.claimAll(ctx, op, cs)
			if err == nil {
				err = firstErr(errs)
			}
			if err != nil {
				m.st.settle(ctx, cs, errNotWritten)
				return nil, detail(op, m.sc.name, m.id, sp.name, err)
			}
			if *short == nil {
				*short = cshort
			}
		}
		guard = "=" + text
	}
}

// withGuard is full (a field script's ARGV ending with its index section,
// whose last item counts its items) with the claim guard g added at the
// end of the section.
func withGuard(full []any, g string) []any {
	last := len(full) - 1
	n, _ := strconv.Atoi(fmt.Sprint(full[last]))
	out := make([]any, 0, len(full)+1)
	out = append(append(out, full[:last]...), g, strconv.Itoa(n+1))
	return out
}

// claimAsked reads a field script's error: asked when it is the guard's
// "CLAIM <hex>" (nothing written), with the value it computes; a reply of
// another shape is ErrDecode.
func claimAsked(err error) (text string, asked bool, derr error) {
	var re redis.Error
	if err == nil || !errors.As(err, &re) {
		return "", false, nil
	}
	h, ok := strings.CutPrefix(string(re), "CLAIM ")
	if !ok {
		return "", false, nil
	}
	b, herr := hex.DecodeString(h)
	if herr != nil {
		return "", false, fmt.Errorf("%w: field script replied %.60q", ErrDecode, string(re))
	}
	return string(b), true, nil
}
