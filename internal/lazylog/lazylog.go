// Package lazylog defers the key/value pairs a logr.Logger collects with
// WithValues until a line is logged. controller-runtime adds the
// controller, the object and a reconcile ID to the logger of every
// reconcile; zap encodes them at once, which at 2,000 Services cost the
// manager as many allocations as a fifth of its reconciles' own work, for
// lines that are mostly never written.
package lazylog

import (
	"slices"

	"github.com/go-logr/logr"
)

// Wrap returns a logger that logs through l and hands l the values given
// to WithValues only when a line is written.
func Wrap(l logr.Logger) logr.Logger {
	base := l.GetSink()
	if base == nil {
		return l
	}
	// The wrapper adds one frame between the caller and base.
	if cd, ok := base.(logr.CallDepthLogSink); ok {
		base = cd.WithCallDepth(1)
	}
	return logr.New(&sink{base: base})
}

type sink struct {
	base logr.LogSink
	kvs  []any
}

var _ logr.CallDepthLogSink = &sink{}

// Init implements logr.LogSink; base was initialized by its own logger.
func (s *sink) Init(logr.RuntimeInfo) {}

func (s *sink) Enabled(level int) bool { return s.base.Enabled(level) }

func (s *sink) Info(level int, msg string, kvs ...any) { s.withValues().Info(level, msg, kvs...) }

func (s *sink) Error(err error, msg string, kvs ...any) { s.withValues().Error(err, msg, kvs...) }

func (s *sink) WithValues(kvs ...any) logr.LogSink {
	return &sink{base: s.base, kvs: append(slices.Clip(s.kvs), kvs...)}
}

// WithName names base at once (names are set up once, not per reconcile);
// sinks keep names apart from values, so the order does not show.
func (s *sink) WithName(name string) logr.LogSink {
	return &sink{base: s.base.WithName(name), kvs: s.kvs}
}

func (s *sink) WithCallDepth(depth int) logr.LogSink {
	cd, ok := s.base.(logr.CallDepthLogSink)
	if !ok {
		return s
	}
	return &sink{base: cd.WithCallDepth(depth), kvs: s.kvs}
}

func (s *sink) withValues() logr.LogSink {
	if len(s.kvs) == 0 {
		return s.base
	}
	return s.base.WithValues(s.kvs...)
}
