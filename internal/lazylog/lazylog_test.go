package lazylog

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// The wrapped logger writes the same lines as the logger it wraps, with
// the same caller.
func TestSameLines(t *testing.T) {
	var direct, lazy []string
	opts := funcr.Options{LogCaller: funcr.All, Verbosity: 1}
	plain := funcr.New(func(prefix, args string) { direct = append(direct, prefix+" "+args) }, opts)
	wrapped := Wrap(funcr.New(func(prefix, args string) { lazy = append(lazy, prefix+" "+args) }, opts))

	for _, l := range []logr.Logger{plain, wrapped} {
		r := l.WithName("controller").WithValues("controller", "service", "namespace", "default").WithValues("name", "web")
		r.Info("reconciled", "changed", true) // both lines are written from this line's number
		r.V(1).Info("detail")
		r.V(2).Info("not written")
		r.WithName("sub").Error(errors.New("boom"), "failed", "n", 2)
		r.WithCallDepth(0).Info("depth")
	}
	if len(direct) != 4 || strings.Join(lazy, "\n") != strings.Join(direct, "\n") {
		t.Fatalf("the wrapped logger wrote\n%s\nthe plain one\n%s", strings.Join(lazy, "\n"), strings.Join(direct, "\n"))
	}
	if !strings.Contains(direct[0], "lazylog_test.go") || !strings.Contains(direct[0], `"name"="web"`) {
		t.Errorf("line lacks the caller or the values: %s", direct[0])
	}
}

// countingSink counts how often values reach it.
type countingSink struct {
	logr.LogSink
	withValues *int
}

func (c countingSink) WithValues(kvs ...any) logr.LogSink {
	*c.withValues++
	return countingSink{c.LogSink.WithValues(kvs...), c.withValues}
}

// Values reach the wrapped sink only when a line is written.
func TestValuesWaitForALine(t *testing.T) {
	n := 0
	base := countingSink{funcr.New(func(string, string) {}, funcr.Options{}).GetSink(), &n}
	l := Wrap(logr.New(base))
	for i := range 100 {
		r := l.WithValues("reconcileID", i).WithValues("name", "web")
		r.V(1).Info("disabled")
	}
	if n != 0 {
		t.Fatalf("100 reconciles with nothing logged passed values %d times", n)
	}
	l.WithValues("a", 1).WithValues("b", 2).Info("written")
	if n != 1 {
		t.Errorf("one written line passed values %d times, want 1", n)
	}
}
