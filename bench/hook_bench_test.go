package bench

import (
	"context"
	"log/slog"
	"testing"

	"github.com/rapyer-go/rapyer"
)

// nopHook is a rapyer.Hook that does nothing: the cost of the hook calls
// and of the Operation and RoundTrip they are given.
type nopHook struct{}

func (nopHook) OperationStart(ctx context.Context, _ *rapyer.Operation) context.Context { return ctx }
func (nopHook) OperationEnd(context.Context, *rapyer.Operation)                         {}
func (nopHook) RoundTripStart(ctx context.Context, _ *rapyer.RoundTrip) context.Context { return ctx }
func (nopHook) RoundTripEnd(context.Context, *rapyer.RoundTrip)                         {}

// BenchmarkHook: Save, Get and Incr, each paired (interleaved) with its raw
// redigo baseline (raw-multi, raw-hgetall, raw-hincrby), on three Stores:
//
//	off        no hook, no logger: the path every Store without
//	           observability runs (compare its x-raw with BenchmarkSave,
//	           BenchmarkGet and BenchmarkIncr's "paired" before hooks existed)
//	log-off    WithLogger of a logger whose levels are all off
//	nop-hook   WithHook of a hook that does nothing: what observing costs
func BenchmarkHook(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	stores := []struct {
		name string
		opts []rapyer.Option
	}{
		{"off", nil},
		{"log-off", []rapyer.Option{rapyer.WithLogger(quiet)}},
		{"nop-hook", []rapyer.Option{rapyer.WithHook(nopHook{})}},
	}
	ops := []struct {
		name     string
		lib, raw func(b testing.TB, e *env) op
	}{
		{"save", saveLib, saveRaw},
		{"get", getLib, getRawOp},
		{"incr", incrLib, hincrbyRaw},
	}
	backends(b, func(b *testing.B, e *env) {
		for _, o := range ops {
			for _, s := range stores {
				b.Run(o.name+"/"+s.name, func(b *testing.B) {
					he := *e
					if s.opts != nil {
						he.st = e.with(b, s.opts...)
					}
					paired(b, o.lib(b, &he), o.raw(b, e))
				})
			}
		}
	})
}

// discard is an io.Writer that keeps nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
