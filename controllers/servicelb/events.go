package servicelb

import (
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
)

// maxNote is the longest Event note the events.k8s.io API accepts, in bytes.
const maxNote = 1024

// event records an Event on svc, when the reconciler has a recorder. A
// note too long for the API is cut.
func (r *Reconciler) event(svc *corev1.Service, eventType, reason, action, note string, args ...any) {
	if r.Events == nil {
		return
	}
	r.Events.Eventf(svc, nil, eventType, reason, action, "%s", truncate(fmt.Sprintf(note, args...), maxNote))
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "..."
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
