package bench

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/types"
)

// Bag is Profile's six scalars plus three containers of 100 elements each:
// the model of BenchmarkGetContainers.
type Bag struct {
	rapyer.Model
	Name   types.Str
	Age    types.Int
	Score  types.Float
	Active types.Bool
	Seen   types.Time
	Email  types.Str
	Tags   types.List[string]
	Attrs  types.Map[string, string]
	Roles  types.Set[string]
}

var Bags = rapyer.Define("bag", func(g *Bag) rapyer.Fields {
	return rapyer.Fields{
		g.Name.Named("name"), g.Age.Named("age"), g.Score.Named("score"),
		g.Active.Named("active"), g.Seen.Named("seen"), g.Email.Named("email"),
		g.Tags.Named("tags"), g.Attrs.Named("attrs"), g.Roles.Named("roles"),
	}
})

// containerN is the size of each container in the benchmarks.
const containerN = 100

// bagItems are the containers' contents: the same strings the stub answers.
var bagList, bagMap, bagSet = func() ([]string, map[string]string, []string) {
	l, s := make([]string, containerN), make([]string, containerN)
	m := make(map[string]string, containerN)
	for i := range containerN {
		l[i] = "item-" + strconv.Itoa(i)
		s[i] = "member-" + strconv.Itoa(i)
		m["key-"+strconv.Itoa(i)] = "value-" + strconv.Itoa(i)
	}
	return l, m, s
}()

func savedBag(b *testing.B, e *env) *Bag {
	b.Helper()
	g := Bags.New(e.st)
	g.Name.Set(sample.Name)
	g.Age.Set(sample.Age)
	g.Score.Set(sample.Score)
	g.Active.Set(sample.Active)
	g.Seen.Set(sample.Seen)
	g.Email.Set(sample.Email)
	g.Tags.SetLocal(bagList...)
	g.Attrs.SetLocal(bagMap)
	g.Roles.SetLocal(bagSet...)
	if err := g.Save(b.Context()); err != nil {
		b.Fatal(err)
	}
	return g
}

// BenchmarkListAppend: List.Append(ctx, one element) on a saved object
// without TTL.
//
//	rapyer            List.Append: EVALSHA of lua/list.lua (existence check,
//	                  RPUSH, version bump)
//	raw-rpush         RPUSH key v: the target's baseline
//	raw-evalsha-same  EVALSHA of lua/list.lua with Append's arguments
//	paired            rapyer and raw-rpush alternately
func BenchmarkListAppend(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, appendLib(b, e)) })
		b.Run("raw-rpush", func(b *testing.B) { measure(b, rpushRaw(b, e)) })
		b.Run("raw-evalsha-same", func(b *testing.B) { measure(b, appendScriptRaw(b, e)) })
		b.Run("paired", func(b *testing.B) { paired(b, appendLib(b, e), rpushRaw(b, e)) })
	})
}

func appendLib(b *testing.B, e *env) op {
	ctx := b.Context()
	g := savedBag(b, e)
	return func() error {
		_, err := g.Tags.Append(ctx, "x")
		g.Tags.SetLocal() // keep the local copy from growing with the loop
		return err
	}
}

func rpushRaw(b *testing.B, e *env) op {
	key := savedBag(b, e).Tags.Key()
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		_, err := redis.Int(c.Do("RPUSH", key, "x"))
		return err
	}
}

func appendScriptRaw(b *testing.B, e *env) op {
	keys := savedBag(b, e).Keys()
	s := redis.NewScript(len(keys), lua.List.Src())
	c := e.pool.Get()
	if err := s.Load(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	args := make([]any, 0, len(keys)+5)
	for _, k := range keys {
		args = append(args, k)
	}
	// ARGV: TTL mode "0" (none), object keys, the list's key index, op, value.
	args = append(args, "0", strconv.Itoa(len(keys)), 2, "rpush", "x")
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		_, err := redis.Int(s.Do(c, args...))
		return err
	}
}

// BenchmarkListRange: reading 100 elements of a list field.
//
//	rapyer        List.Range(ctx, 0, 100): MULTI, EXISTS hash, LRANGE key 0 99,
//	              EXEC, decoded
//	rapyer-all    List.All: the same read of the whole list, which also
//	              replaces the local copy
//	raw-lrange    LRANGE key 0 -1 decoded into []string
//	paired        rapyer and raw-lrange alternately
func BenchmarkListRange(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, rangeLib(b, e)) })
		b.Run("rapyer-all", func(b *testing.B) { measure(b, allLib(b, e)) })
		b.Run("raw-lrange", func(b *testing.B) { measure(b, lrangeRaw(b, e)) })
		b.Run("paired", func(b *testing.B) { paired(b, rangeLib(b, e), lrangeRaw(b, e)) })
	})
}

func rangeLib(b *testing.B, e *env) op {
	ctx := b.Context()
	g := savedBag(b, e)
	return func() error {
		l, err := g.Tags.Range(ctx, 0, containerN)
		if err == nil && len(l) != containerN {
			err = fmt.Errorf("%d elements", len(l))
		}
		return err
	}
}

func allLib(b *testing.B, e *env) op {
	ctx := b.Context()
	g := savedBag(b, e)
	return func() error {
		l, err := g.Tags.ReadAll(ctx)
		if err == nil && len(l) != containerN {
			err = fmt.Errorf("%d elements", len(l))
		}
		return err
	}
}

func lrangeRaw(b *testing.B, e *env) op {
	key := savedBag(b, e).Tags.Key()
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		l, err := redis.Strings(c.Do("LRANGE", key, 0, containerN-1))
		if err == nil && len(l) != containerN {
			err = fmt.Errorf("%d elements", len(l))
		}
		return err
	}
}

// BenchmarkGetContainers: Schema.Get of Bag (6 scalars, a list, a map and a
// set of 100 elements each), no TTL.
//
//	rapyer       Schema.Get: MULTI, HGETALL, LRANGE, HGETALL, SMEMBERS, EXEC
//	raw-pipe     HGETALL + LRANGE + HGETALL + SMEMBERS pipelined, decoded into
//	             a profile, a []string, a map[string]string and a []string
//	raw-multi    the same four inside MULTI/EXEC (rapyer's exact commands)
//	paired       rapyer and raw-pipe alternately
func BenchmarkGetContainers(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		b.Run("rapyer", func(b *testing.B) { measure(b, getBagLib(b, e)) })
		b.Run("raw-pipe", func(b *testing.B) { measure(b, getBagRaw(b, e, false)) })
		b.Run("raw-multi", func(b *testing.B) { measure(b, getBagRaw(b, e, true)) })
		b.Run("paired", func(b *testing.B) { paired(b, getBagLib(b, e), getBagRaw(b, e, false)) })
	})
}

func getBagLib(b *testing.B, e *env) op {
	ctx := b.Context()
	id := savedBag(b, e).ID()
	return func() error {
		g, err := Bags.Get(ctx, e.st, id)
		if err != nil {
			return err
		}
		if g.Age.Get() != sample.Age || len(g.Tags.Local()) != containerN || len(g.Attrs.Local()) != containerN || len(g.Roles.Local()) != containerN {
			return fmt.Errorf("wrong bag: age %d, %d/%d/%d elements", g.Age.Get(), len(g.Tags.Local()), len(g.Attrs.Local()), len(g.Roles.Local()))
		}
		return nil
	}
}

// rawBag is what a raw-redigo user holds for a Bag.
type rawBag struct {
	profile
	Tags  []string
	Attrs map[string]string
	Roles []string
}

func getBagRaw(b *testing.B, e *env, multi bool) op {
	g := savedBag(b, e)
	key, tags, attrs, roles := g.Key(), g.Tags.Key(), g.Attrs.Key(), g.Roles.Key()
	warm(b, e.pool)
	return func() error {
		c := e.pool.Get()
		defer c.Close()
		if multi {
			_ = c.Send("MULTI")
		}
		_ = c.Send("HGETALL", key)
		_ = c.Send("LRANGE", tags, 0, -1)
		_ = c.Send("HGETALL", attrs)
		_ = c.Send("SMEMBERS", roles)
		var replies []any
		if multi {
			r, err := redis.Values(c.Do("EXEC"))
			if err != nil {
				return err
			}
			replies = r
		} else {
			if err := c.Flush(); err != nil {
				return err
			}
			replies = make([]any, 4)
			for i := range replies {
				r, err := c.Receive()
				if err != nil {
					return err
				}
				replies[i] = r
			}
		}
		v, err := decodeBag(replies)
		if err != nil {
			return err
		}
		if v.Age != sample.Age || len(v.Tags) != containerN || len(v.Attrs) != containerN || len(v.Roles) != containerN {
			return fmt.Errorf("wrong bag: age %d, %d/%d/%d elements", v.Age, len(v.Tags), len(v.Attrs), len(v.Roles))
		}
		return nil
	}
}

// decodeBag decodes the four replies as a careful raw-redigo user would.
func decodeBag(r []any) (rawBag, error) {
	var v rawBag
	var err error
	if v.profile, err = decodeProfile(r[0], nil); err != nil {
		return v, err
	}
	if v.Tags, err = redis.Strings(r[1], nil); err != nil {
		return v, err
	}
	if v.Attrs, err = redis.StringMap(r[2], nil); err != nil {
		return v, err
	}
	v.Roles, err = redis.Strings(r[3], nil)
	return v, err
}
