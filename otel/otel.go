// Package otel traces and measures rapyer with OpenTelemetry: a
// rapyer.Hook (give it to the Store with rapyer.WithHook) that opens one
// client span per operation and records its duration and errors, and
// gauges of the Store's connection pool (ObserveStats). It is its own
// module, so that programs that do not use OpenTelemetry do not depend on
// it.
//
//	h, err := otel.New() // the global TracerProvider and MeterProvider
//	st, err := rapyer.Open(ctx, url, rapyer.WithHook(h))
//	reg, err := h.ObserveStats(st) // pool gauges; reg.Unregister() when done
//
// Spans: one per operation (Save, Get, Int.Incr, GetMany, Find, Tx, ...),
// named "<operation> <model>" ("Save user"; the operation alone when it
// has no model: "Tx", "Ping"), of kind client, with the semantic
// conventions' attributes db.system.name ("redis"), db.operation.name
// (the operation), db.collection.name (the model), server.address and
// server.port (for a Store Open made), error.type on failure (see
// ErrorType), and rapyer's own: rapyer.id, rapyer.field, rapyer.count,
// rapyer.units, rapyer.round_trips and rapyer.commands (the scripts and
// commands sent). Each round trip is an event of the span ("round trip",
// with its command count). Operations called inside another (a
// Duplicate's Insert, the operations of a WithLock's function) are child
// spans; the operations queued in a Batch or Tx are not spans of their
// own: the Batch or Tx is.
//
// Metrics: db.client.operation.duration (a histogram, in seconds, by
// db.system.name, db.operation.name, db.collection.name and error.type),
// rapyer.client.operation.errors (a counter by the same attributes, so by
// sentinel), and, with ObserveStats, db.client.connection.count (by
// db.client.connection.state: "idle" or "used"),
// rapyer.client.connection.waits and rapyer.client.connection.wait_time
// (seconds): Store.Stats.
package otel

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/rapyer-go/rapyer"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/rapyer-go/rapyer/otel"

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider makes the spans with tp. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithMeterProvider makes the metrics with mp. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// Hook is a rapyer.Hook that traces and measures every operation of the
// Stores it is given to. It is safe for concurrent use, and one Hook may
// serve several Stores.
type Hook struct {
	tracer trace.Tracer
	meter  metric.Meter
	dur    metric.Float64Histogram
	errs   metric.Int64Counter
}

var _ rapyer.Hook = (*Hook)(nil)

// New returns a Hook. Its error is the meter's, when it refuses an
// instrument.
func New(opts ...Option) (*Hook, error) {
	c := config{}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	h := &Hook{tracer: c.tp.Tracer(ScopeName), meter: c.mp.Meter(ScopeName)}
	var err error
	h.dur, err = h.meter.Float64Histogram("db.client.operation.duration",
		metric.WithUnit("s"), metric.WithDescription("Duration of rapyer operations."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10))
	if err != nil {
		return nil, err
	}
	h.errs, err = h.meter.Int64Counter("rapyer.client.operation.errors",
		metric.WithUnit("{error}"), metric.WithDescription("Failed rapyer operations, by error.type (the rapyer sentinel)."))
	if err != nil {
		return nil, err
	}
	return h, nil
}

// spanName is "<operation> <model>", or the operation alone.
func spanName(op *rapyer.Operation) string {
	if op.Model == "" {
		return op.Name
	}
	return op.Name + " " + op.Model
}

// baseAttrs are the attributes of both the span and the metrics.
func baseAttrs(op *rapyer.Operation, out []attribute.KeyValue) []attribute.KeyValue {
	out = append(out, semconv.DBSystemNameRedis, semconv.DBOperationName(op.Name))
	if op.Model != "" {
		out = append(out, semconv.DBCollectionName(op.Model))
	}
	return out
}

// serverAttrs appends server.address and server.port of server (host:port)
// to out; nothing when server is "".
func serverAttrs(server string, out []attribute.KeyValue) []attribute.KeyValue {
	if host, port, err := net.SplitHostPort(server); err == nil {
		out = append(out, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			out = append(out, semconv.ServerPort(p))
		}
	}
	return out
}

// OperationStart opens the operation's span, a child of the one in ctx.
func (h *Hook) OperationStart(ctx context.Context, op *rapyer.Operation) context.Context {
	attrs := serverAttrs(op.Server, baseAttrs(op, make([]attribute.KeyValue, 0, 8)))
	if op.ID != "" {
		attrs = append(attrs, attribute.String("rapyer.id", op.ID))
	}
	if op.Field != "" {
		attrs = append(attrs, attribute.String("rapyer.field", op.Field))
	}
	ctx, _ = h.tracer.Start(ctx, spanName(op), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(op.Start), trace.WithAttributes(attrs...))
	return ctx
}

// OperationEnd ends the span with what the operation sent and its error,
// and records the metrics.
func (h *Hook) OperationEnd(ctx context.Context, op *rapyer.Operation) {
	span := trace.SpanFromContext(ctx)
	var errType attribute.KeyValue
	if op.Err != nil {
		errType = semconv.ErrorTypeKey.String(ErrorType(op.Err))
	}
	if span.IsRecording() {
		span.SetAttributes(
			attribute.Int("rapyer.count", op.Count),
			attribute.Int("rapyer.units", op.Units),
			attribute.Int("rapyer.round_trips", op.RoundTrips),
			attribute.StringSlice("rapyer.commands", op.Commands),
		)
		// On a cluster Server is known at the end: the node every round
		// trip went to (on one server it was set at the start already).
		span.SetAttributes(serverAttrs(op.Server, nil)...)
		if op.Err != nil {
			span.SetAttributes(errType)
			span.RecordError(op.Err)
			span.SetStatus(codes.Error, op.Err.Error())
		}
	}
	span.End(trace.WithTimestamp(op.Start.Add(op.Duration)))
	attrs := baseAttrs(op, make([]attribute.KeyValue, 0, 4))
	if op.Err != nil {
		attrs = append(attrs, errType)
	}
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	h.dur.Record(ctx, op.Duration.Seconds(), set)
	if op.Err != nil {
		h.errs.Add(ctx, 1, set)
	}
}

// RoundTripStart does nothing: a round trip is an event of its
// operation's span, added when it ends.
func (h *Hook) RoundTripStart(ctx context.Context, _ *rapyer.RoundTrip) context.Context { return ctx }

// RoundTripEnd adds the round trip to its operation's span as an event.
func (h *Hook) RoundTripEnd(ctx context.Context, rt *rapyer.RoundTrip) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.Int("rapyer.commands", rt.Commands),
		attribute.Float64("rapyer.duration", rt.Duration.Seconds()),
	}
	attrs = serverAttrs(rt.Server, attrs)
	if rt.Err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(ErrorType(rt.Err)))
	}
	span.AddEvent("round trip", trace.WithTimestamp(rt.Start.Add(rt.Duration)), trace.WithAttributes(attrs...))
}

// sentinels name rapyer's sentinel errors for error.type.
var sentinels = []struct {
	err  error
	name string
}{
	{rapyer.ErrNotFound, "not_found"},
	{rapyer.ErrExists, "exists"},
	{rapyer.ErrConflict, "conflict"},
	{rapyer.ErrWrongType, "wrong_type"},
	{rapyer.ErrOverflow, "overflow"},
	{rapyer.ErrDivideByZero, "divide_by_zero"},
	{rapyer.ErrDecode, "decode"},
	{rapyer.ErrInvalid, "invalid"},
	{rapyer.ErrUnbound, "unbound"},
	{rapyer.ErrOutOfRange, "out_of_range"},
	{rapyer.ErrLocked, "locked"},
	{rapyer.ErrLockLost, "lock_lost"},
	{rapyer.ErrNotRun, "not_run"},
	{rapyer.ErrClosed, "closed"},
	{rapyer.ErrOutOfMemory, "out_of_memory"},
	{rapyer.ErrReadOnly, "read_only"},
	{rapyer.ErrAuth, "auth"},
	{rapyer.ErrNoPermission, "no_permission"},
	{rapyer.ErrUnavailable, "unavailable"},
	{rapyer.ErrNotReplicated, "not_replicated"},
	{context.DeadlineExceeded, "deadline_exceeded"},
	{context.Canceled, "canceled"},
}

// ErrorType is the error.type of err: the name of the rapyer sentinel it
// wraps ("not_found", "conflict", "overflow", ...; see the package's
// sentinels), "deadline_exceeded" or "canceled" for the context's, and
// "_OTHER" for anything else (the network's, a server's reply rapyer does
// not map). For a *BatchError, that of one of its failed operations.
func ErrorType(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return semconv.ErrorTypeOther.Value.AsString()
}

// ObserveStats registers gauges of st's connection pool (Store.Stats) with
// the Hook's meter, read at each collection: db.client.connection.count
// by state (idle, used), rapyer.client.connection.waits and
// rapyer.client.connection.wait_time. Unregister the returned
// registration when st is closed.
func (h *Hook) ObserveStats(st *rapyer.Store) (metric.Registration, error) {
	count, err := h.meter.Int64ObservableUpDownCounter("db.client.connection.count",
		metric.WithUnit("{connection}"), metric.WithDescription("Connections of the Store's pool, by state."))
	if err != nil {
		return nil, err
	}
	waits, err := h.meter.Int64ObservableCounter("rapyer.client.connection.waits",
		metric.WithUnit("{wait}"), metric.WithDescription("Times a caller waited for a connection (the pool full)."))
	if err != nil {
		return nil, err
	}
	waited, err := h.meter.Float64ObservableCounter("rapyer.client.connection.wait_time",
		metric.WithUnit("s"), metric.WithDescription("Total time callers waited for a connection."))
	if err != nil {
		return nil, err
	}
	idle := metric.WithAttributeSet(attribute.NewSet(semconv.DBSystemNameRedis, attribute.String("db.client.connection.state", "idle")))
	used := metric.WithAttributeSet(attribute.NewSet(semconv.DBSystemNameRedis, attribute.String("db.client.connection.state", "used")))
	sys := metric.WithAttributeSet(attribute.NewSet(semconv.DBSystemNameRedis))
	return h.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := st.Stats()
		o.ObserveInt64(count, int64(s.Idle), idle)
		o.ObserveInt64(count, int64(s.InUse), used)
		o.ObserveInt64(waits, s.Waits, sys)
		o.ObserveFloat64(waited, s.WaitTime.Seconds(), sys)
		return nil
	}, count, waits, waited)
}
