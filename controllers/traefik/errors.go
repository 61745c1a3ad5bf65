package traefik

// Reasons the TraefikReady condition gives when Traefik is not ready.
const (
	// ReasonInvalidValues: a values document is not YAML, or the chart's
	// schema or templates refuse the merged values. Stalled until fixed.
	ReasonInvalidValues = "InvalidValues"
	// ReasonValuesFromMissing: a ConfigMap, Secret or key named by
	// valuesFrom (and not optional) does not exist yet. Retried, and
	// re-rendered as soon as it appears.
	ReasonValuesFromMissing = "ValuesFromMissing"
	// ReasonDashboardSecretInvalid: the dashboard's Secret is missing or
	// holds no usable users, so the dashboard is not exposed.
	ReasonDashboardSecretInvalid = "DashboardSecretInvalid"
	// ReasonChartNotFound: the repository has no chart of that name and
	// exact version. Stalled until spec.traefik.chart changes.
	ReasonChartNotFound = "ChartNotFound"
	// ReasonChartFetchFailed: the repository could not be reached or sent
	// something that is not a chart. Retried in the background, after 10
	// seconds, then twice as long each time up to 5 minutes; the message
	// says when.
	ReasonChartFetchFailed = "ChartFetchFailed"
	// ReasonChartFetching: the chart is being fetched in the background;
	// what runs is left as it is meanwhile.
	ReasonChartFetching = "ChartFetching"
	// ReasonChartRefused: the repository or the source is one wharf does
	// not fetch from: plain http without insecure: true, a redirect to
	// another host or from https to http, an archive URL on another host
	// than the repository's, a download over its size cap. Stalled.
	ReasonChartRefused = "ChartRefused"
	// ReasonChartDigestMismatch: the archive fetched does not have the
	// sha256 digest spec.traefik.chart.digest pins. Stalled.
	ReasonChartDigestMismatch = "ChartDigestMismatch"
)

// reasonError is an error to retry that names the condition reason to
// report, for example ValuesFromMissing.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

// ConditionReason is the reason the condition should carry.
func (e *reasonError) ConditionReason() string { return e.reason }
