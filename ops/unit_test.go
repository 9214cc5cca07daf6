package ops

import (
	"context"
	"errors"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/rapyer-go/rapyer/lua"
	"github.com/rapyer-go/rapyer/serialize"
)

func TestUnitShape(t *testing.T) {
	tests := []struct {
		name                 string
		u                    Unit
		route                string
		size, inlined, vpos0 int
	}{
		{"script", ScriptUnit(lua.Int, []string{"{u:0}:o:1", "{u:0}:f:tags:1"}, []any{"0", 2}), "{u:0}:o:1", 1, 1, 0},
		{"multi", Unit{Multi: true, Cmds: []Cmd{{Name: "HSET", Args: []any{"{u:0}:o:2", "a", 1}}, {Name: "HINCRBY", Args: []any{"{u:0}:o:2", "_v", 1}}}}, "{u:0}:o:2", 4, 2, 0},
		{"plain", Unit{Cmds: []Cmd{{Name: "HGETALL", Args: []any{"{u:0}:o:3"}}}}, "{u:0}:o:3", 1, 1, 0},
		{"keyless", Unit{Cmds: []Cmd{{Name: "PING"}, {Name: "SCRIPT", Args: []any{"LOAD", "return 1"}}}}, "", 2, 2, 0},
		{"empty", Unit{}, "", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.u.Route(); got != tt.route {
				t.Errorf("Route = %q, want %q", got, tt.route)
			}
			if got := tt.u.Size(); got != tt.size {
				t.Errorf("Size = %d, want %d", got, tt.size)
			}
			if got := tt.u.Inlined(); got != tt.inlined {
				t.Errorf("Inlined = %d, want %d", got, tt.inlined)
			}
		})
	}
}

func TestEvalArgs(t *testing.T) {
	u := ScriptUnit(lua.Int, []string{"k1", "k2"}, []any{"a", 7})
	name, args := u.EvalArgs(false)
	if name != "EVALSHA" || args[0] != lua.Int.SHA() || args[1] != 2 || args[2] != "k1" || args[3] != "k2" || args[4] != "a" || args[5] != 7 || len(args) != 6 {
		t.Fatalf("EvalArgs(false) = %s %v", name, args)
	}
	name, args = u.EvalArgs(true)
	if name != "EVAL" || args[0] != lua.Int.Src() || len(args) != 6 {
		t.Fatalf("EvalArgs(true) = %s %d args", name, len(args))
	}
}

func TestVersion(t *testing.T) {
	u := Unit{Multi: true, Cmds: make([]Cmd, 2)}
	if v := u.Version([]any{int64(1), int64(42)}); v != 0 {
		t.Fatalf("Version of a command unit = %d, want 0", v)
	}
	s := ScriptUnit(lua.Save, nil, nil)
	if v := s.Version([]any{int64(9)}); v != 9 {
		t.Fatalf("script Version = %d, want 9", v)
	}
	if v := s.Version([]any{[]byte("12345678901234567")}); v != 12345678901234567 {
		t.Fatalf("script Version of a text reply = %d", v)
	}
	if v := s.Version(nil); v != 0 {
		t.Fatalf("script Version of no reply = %d, want 0", v)
	}
}

func TestReplyHelpers(t *testing.T) {
	flat, err := FlatReply([]any{[]byte("a"), nil, int64(-3)}, nil)
	if err != nil || string(flat[0]) != "a" || flat[1] != nil || string(flat[2]) != "-3" {
		t.Fatalf("FlatReply = %q, %v", flat, err)
	}
	if _, err := FlatReply("x", nil); err == nil {
		t.Fatal("FlatReply of a string: no error")
	}
	if _, err := FlatReply([]any{1.5}, nil); err == nil {
		t.Fatal("FlatReply of a float element: no error")
	}
	if got, err := FlatReply(nil, nil); got != nil || err != nil {
		t.Fatalf("FlatReply(nil) = %v, %v", got, err)
	}
	boom := errors.New("boom")
	if _, err := FlatReply(nil, boom); err != boom {
		t.Fatalf("FlatReply passes errors: got %v", err)
	}
	if err := FirstError([]any{int64(1), redis.Error("ERR x"), redis.Error("ERR y")}); err == nil || err.Error() != "ERR x" {
		t.Fatalf("FirstError = %v", err)
	}
	if !IsNoScript(redis.Error("NOSCRIPT No matching script")) || IsNoScript(redis.Error("ERR")) || IsNoScript(errors.New("NOSCRIPT")) {
		t.Fatal("IsNoScript")
	}
}

// zero is a handle that was never bound: every operation says so.
type zero struct{ ContainerRef }

func TestUnboundHandle(t *testing.T) {
	var h zero
	ctx := context.Background()
	if _, err := Script(ctx, "Z.Op", &h, lua.Int, redis.Int, "add", 1); !errors.Is(err, ErrUnbound) {
		t.Errorf("Script: %v", err)
	}
	if _, err := Read(ctx, "Z.Read", &h, "HGET", redis.Int); !errors.Is(err, ErrUnbound) {
		t.Errorf("Read: %v", err)
	}
	if err := DecodeReply(&h, []byte("1")); !errors.Is(err, ErrUnbound) {
		t.Errorf("DecodeReply: %v", err)
	}
	if _, err := Encode(&h, 1); !errors.Is(err, ErrUnbound) {
		t.Errorf("Encode: %v", err)
	}
	if err := Apply(&h, nil); !errors.Is(err, ErrUnbound) {
		t.Errorf("Apply: %v", err)
	}
	bad := errors.New("bad")
	if err := FieldError(&h, "Z.Op", bad); !errors.Is(err, bad) {
		t.Errorf("FieldError: %v", err)
	}
	if Fallback(&h) != serialize.Msgpack || KeyIndex(&h) != 0 || SameObject(&h, &h) || SameObject(nil, &h) {
		t.Error("Fallback, KeyIndex or SameObject of an unbound handle")
	}
	InitContainer(&h, "tags", SetKind, nil)
	if name, kind, _ := Declared(&h.ContainerRef); name != "tags" || kind != SetKind {
		t.Errorf("Declared = %q %v", name, kind)
	}
	if ListKind.String() != "list" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
}
