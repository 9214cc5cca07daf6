package otel_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/rapyer-go/rapyer"
	"github.com/rapyer-go/rapyer/internal/testkit"
	rotel "github.com/rapyer-go/rapyer/otel"
	"github.com/rapyer-go/rapyer/types"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type item struct {
	rapyer.Model
	Name  types.Str
	Stock types.Int
}

var items = rapyer.Define("item", func(i *item) rapyer.Fields {
	return rapyer.Fields{i.Name.Named("name").Index(), i.Stock.Named("stock").Index()}
})

// setup returns a Hook recording into an in-memory span recorder and a
// manual metric reader.
func setup(t *testing.T) (*rotel.Hook, *tracetest.SpanRecorder, *sdkmetric.ManualReader) {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	h, err := rotel.New(rotel.WithTracerProvider(tp), rotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	return h, spans, reader
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// attrs returns a span's attributes as text.
func attrs(kv []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, a := range kv {
		m[string(a.Key)] = a.Value.Emit()
	}
	return m
}

// ended returns the spans ended since the last call, by name.
func ended(spans *tracetest.SpanRecorder, seen *int) []sdktrace.ReadOnlySpan {
	all := spans.Ended()
	out := all[*seen:]
	*seen = len(all)
	return out
}

func TestSpans(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		h, spans, reader := setup(t)
		st := b.NewStore(t, rapyer.WithHook(h))
		ctx := testkit.Ctx(t)
		seen := len(spans.Ended())

		it := items.New(st)
		it.Name.Set("bolt")
		it.Stock.Set(5)
		must(t, it.Save(ctx))
		_, err := items.Get(ctx, st, it.ID())
		must(t, err)
		_, err = it.Stock.Incr(ctx, 2)
		must(t, err)
		found, err := items.Find(ctx, st, items.Fields().Stock.Gte(7))
		must(t, err)
		if len(found) != 1 {
			t.Fatalf("Find: %d", len(found))
		}
		must(t, st.Tx(ctx, func(q context.Context) error {
			_, _ = it.Stock.Incr(q, 1)
			_, _ = it.Name.Append(q, "s")
			return nil
		}))
		missing := items.New(st)
		_, err = missing.Stock.Incr(ctx, 1)
		if !errors.Is(err, rapyer.ErrNotFound) {
			t.Fatal(err)
		}

		got := ended(spans, &seen)
		var names []string
		for _, s := range got {
			names = append(names, s.Name())
		}
		want := []string{"Save item", "Get item", "Int.Incr item", "Find item", "Tx", "Int.Incr item"}
		if !slices.Equal(names, want) {
			t.Fatalf("spans %v, want %v", names, want)
		}
		type row struct {
			op, trips, units, commands, count string
		}
		// Find: the query, then the load. On a cluster the query's shards
		// (12, spread over every master) are one round trip per master,
		// sent in parallel, each reported.
		find := "2"
		if b.Name == "cluster" {
			find = fmt.Sprint(len(b.Seeds()) + 1)
		}
		rows := []row{
			{"Save", "1", "1", `["save"]`, "0"},
			{"Get", "1", "1", `["HGETALL"]`, "0"},
			{"Int.Incr", "1", "1", `["int"]`, "0"},
			{"Find", find, "", "", "1"},
			{"Tx", "1", "2", `["int","scalar"]`, "2"},
		}
		for i, r := range rows {
			s := got[i]
			a := attrs(s.Attributes())
			if s.SpanKind() != trace.SpanKindClient || a["db.system.name"] != "redis" || a["db.operation.name"] != r.op ||
				a["rapyer.round_trips"] != r.trips || r.units != "" && a["rapyer.units"] != r.units ||
				r.commands != "" && a["rapyer.commands"] != r.commands || a["rapyer.count"] != r.count {
				t.Fatalf("%s: attributes %v", s.Name(), a)
			}
			if r.op != "Tx" && a["db.collection.name"] != "item" {
				t.Fatalf("%s: attributes %v", s.Name(), a)
			}
			if n := len(s.Events()); fmt.Sprint(n) != r.trips {
				t.Fatalf("%s: %d round trip events", s.Name(), n)
			}
			if s.Status().Code == codes.Error || s.EndTime().Before(s.StartTime()) {
				t.Fatalf("%s: status %v, %v..%v", s.Name(), s.Status(), s.StartTime(), s.EndTime())
			}
		}
		if a := attrs(got[0].Attributes()); a["rapyer.id"] != it.ID() {
			t.Fatalf("Save: id %q", a["rapyer.id"])
		}
		if a := attrs(got[2].Attributes()); a["rapyer.field"] != "stock" {
			t.Fatalf("Incr: field %q", a["rapyer.field"])
		}
		failed := got[5]
		if a := attrs(failed.Attributes()); failed.Status().Code != codes.Error || a["error.type"] != "not_found" {
			t.Fatalf("failed Incr: status %v, attributes %v", failed.Status(), a)
		}

		// Metrics: the duration histogram by operation, the error counter
		// by sentinel.
		var rm metricdata.ResourceMetrics
		must(t, reader.Collect(ctx, &rm))
		counts := map[string]uint64{}
		errs := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Histogram[float64]:
					if m.Name != "db.client.operation.duration" || m.Unit != "s" {
						t.Fatalf("histogram %s (%s)", m.Name, m.Unit)
					}
					for _, p := range d.DataPoints {
						op, _ := p.Attributes.Value("db.operation.name")
						et, _ := p.Attributes.Value("error.type")
						counts[op.AsString()+"/"+et.AsString()] += p.Count
						if p.Sum <= 0 {
							t.Fatalf("%v: sum %v", p.Attributes, p.Sum)
						}
					}
				case metricdata.Sum[int64]:
					if m.Name == "rapyer.client.operation.errors" {
						for _, p := range d.DataPoints {
							et, _ := p.Attributes.Value("error.type")
							errs[et.AsString()] += p.Value
						}
					}
				}
			}
		}
		wantCounts := map[string]uint64{"Save/": 1, "Get/": 1, "Int.Incr/": 1, "Find/": 1, "Tx/": 1, "Int.Incr/not_found": 1}
		for k, v := range wantCounts {
			if counts[k] != v {
				t.Fatalf("durations %v, want %v", counts, wantCounts)
			}
		}
		if len(errs) != 1 || errs["not_found"] != 1 {
			t.Fatalf("errors %v", errs)
		}
	})
}

// TestServerAttributes: a Store Open made gives its server's address and
// port to the spans and to their round-trip events. On a cluster an
// operation's span gets the node its round trips went to (none for Ping,
// which goes to every master).
func TestServerAttributes(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		h, spans, _ := setup(t)
		ctx := testkit.Ctx(t)
		st := b.OpenStore(t, rapyer.WithHook(h))
		got := spans.Ended()
		if len(got) != 1 || got[0].Name() != "Ping" {
			t.Fatalf("spans %v", got)
		}
		it := items.New(st)
		it.Name.Set("bolt")
		must(t, it.Save(ctx))
		saved := spans.Ended()[1:]
		if len(saved) != 1 || len(saved[0].Events()) != 1 {
			t.Fatalf("Save: spans %v", saved)
		}
		want := ""
		if b.Name == "cluster" {
			a := attrs(got[0].Attributes())
			if v, ok := a["server.address"]; ok {
				t.Fatalf("Ping: server.address %q on a cluster Store, want none (several nodes)", v)
			}
			want = b.MasterOf(t, it.Key())
		} else {
			u, err := url.Parse(b.URL())
			must(t, err)
			want = u.Host
			a := attrs(got[0].Attributes())
			if a["server.address"]+":"+a["server.port"] != want {
				t.Fatalf("Ping: server %s:%s, want %s", a["server.address"], a["server.port"], want)
			}
		}
		a := attrs(saved[0].Attributes())
		ev := attrs(saved[0].Events()[0].Attributes)
		if a["server.address"]+":"+a["server.port"] != want || ev["server.address"]+":"+ev["server.port"] != want {
			t.Fatalf("Save: span server %s:%s, round trip %s:%s, want %s", a["server.address"], a["server.port"], ev["server.address"], ev["server.port"], want)
		}
	})
}

// TestPoolMetrics: ObserveStats reports the pool's connections by state.
func TestPoolMetrics(t *testing.T) {
	testkit.Run(t, func(t *testing.T, b *testkit.Backend) {
		h, _, reader := setup(t)
		ctx := testkit.Ctx(t)
		st := b.OpenStore(t, rapyer.WithHook(h))
		reg, err := h.ObserveStats(st)
		must(t, err)
		defer func() { must(t, reg.Unregister()) }()
		var rm metricdata.ResourceMetrics
		must(t, reader.Collect(ctx, &rm))
		conns := map[string]int64{}
		var waits int64 = -1
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if d, ok := m.Data.(metricdata.Sum[int64]); ok {
					for _, p := range d.DataPoints {
						switch m.Name {
						case "db.client.connection.count":
							s, _ := p.Attributes.Value("db.client.connection.state")
							conns[s.AsString()] = p.Value
						case "rapyer.client.connection.waits":
							waits = p.Value
						}
					}
				}
			}
		}
		idle := int64(1) // on a cluster, one per master: Open loaded the scripts on each
		if b.Name == "cluster" {
			idle = int64(len(b.Seeds()))
		}
		if conns["idle"] != idle || conns["used"] != 0 || waits != 0 {
			t.Fatalf("connections %v, waits %d", conns, waits)
		}
	})
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", rapyer.ErrConflict), "conflict"},
		{&rapyer.Error{Op: "Int.Incr", Err: rapyer.ErrOverflow}, "overflow"},
		{context.DeadlineExceeded, "deadline_exceeded"},
		{errors.New("connection reset"), "_OTHER"},
	} {
		if got := rotel.ErrorType(c.err); got != c.want {
			t.Errorf("ErrorType(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
