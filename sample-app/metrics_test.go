package main

import (
	"strings"
	"testing"
	"time"
)

func TestMetricsCountByCodeAndVersion(t *testing.T) {
	version = "2.0"
	app := NewApp(Knobs{HealthStatus: 200, FailRate: 0.5})
	h := NewMetrics().Instrument(app.Handler())
	for i := 0; i < 4; i++ {
		get(t, h, "/version")
	}
	get(t, h, "/nope/123")
	body := get(t, h, "/metrics").Body.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter",
		`http_requests_total{code="200",path="/version",version="2.0"} 2`,
		`http_requests_total{code="500",path="/version",version="2.0"} 2`,
		`http_requests_total{code="404",path="other",version="2.0"} 1`,
		"# TYPE http_request_duration_seconds histogram",
		`http_request_duration_seconds_bucket{path="/version",version="2.0",le="+Inf"} 4`,
		`http_request_duration_seconds_count{path="/version",version="2.0"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `path="/metrics"`) {
		t.Errorf("/metrics counts itself:\n%s", body)
	}
}

func TestHistogramBucketsAreCumulative(t *testing.T) {
	m := NewMetrics()
	m.Observe("/", 200, 3*time.Millisecond)
	m.Observe("/", 200, 70*time.Millisecond)
	m.Observe("/", 200, 20*time.Second)
	var b strings.Builder
	m.Write(&b, "1.0")
	out := b.String()
	for _, want := range []string{
		`http_request_duration_seconds_bucket{path="/",version="1.0",le="0.005"} 1`,
		`http_request_duration_seconds_bucket{path="/",version="1.0",le="0.05"} 1`,
		`http_request_duration_seconds_bucket{path="/",version="1.0",le="0.1"} 2`,
		`http_request_duration_seconds_bucket{path="/",version="1.0",le="10"} 2`,
		`http_request_duration_seconds_bucket{path="/",version="1.0",le="+Inf"} 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}
}
