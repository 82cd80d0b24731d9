package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds (seconds) of the request latency histogram.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type requestKey struct {
	code string
	path string
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last one is +Inf
	sum    float64
	count  uint64
}

// Metrics counts requests by status code and path and keeps a latency histogram, exposed in
// the Prometheus text format (version 0.0.4) with the app's version as a label, so canary and
// stable pods can be told apart by `version` (and by the `track` label the scrape adds).
type Metrics struct {
	mu       sync.Mutex
	requests map[requestKey]uint64
	latency  map[string]*histogram // by path
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[requestKey]uint64{}, latency: map[string]*histogram{}}
}

// pathLabel keeps the label's values few: the app's own paths, everything else as "other".
func pathLabel(p string) string {
	switch p {
	case "/", "/version", "/health":
		return p
	}
	return "other"
}

// Observe records one request.
func (m *Metrics) Observe(path string, code int, d time.Duration) {
	p := pathLabel(path)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[requestKey{strconv.Itoa(code), p}]++
	h := m.latency[p]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		m.latency[p] = h
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.counts[i]++
	h.sum += s
	h.count++
}

// Write prints the metrics in the Prometheus text format, in a stable order.
func (m *Metrics) Write(w io.Writer, version string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := strconv.Quote(version)
	fmt.Fprintln(w, "# HELP http_requests_total HTTP requests served, by status code and path.")
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].path != keys[j].path {
			return keys[i].path < keys[j].path
		}
		return keys[i].code < keys[j].code
	})
	for _, k := range keys {
		fmt.Fprintf(w, "http_requests_total{code=%q,path=%q,version=%s} %d\n", k.code, k.path, v, m.requests[k])
	}
	fmt.Fprintln(w, "# HELP http_request_duration_seconds Time to serve an HTTP request, by path.")
	fmt.Fprintln(w, "# TYPE http_request_duration_seconds histogram")
	paths := make([]string, 0, len(m.latency))
	for p := range m.latency {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		h := m.latency[p]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "http_request_duration_seconds_bucket{path=%q,version=%s,le=%q} %d\n", p, v, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.counts[len(latencyBuckets)]
		fmt.Fprintf(w, "http_request_duration_seconds_bucket{path=%q,version=%s,le=\"+Inf\"} %d\n", p, v, cum)
		fmt.Fprintf(w, "http_request_duration_seconds_sum{path=%q,version=%s} %s\n", p, v, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(w, "http_request_duration_seconds_count{path=%q,version=%s} %d\n", p, v, h.count)
	}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Instrument serves /metrics and records every other request.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			m.Write(w, version)
			return
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		m.Observe(r.URL.Path, rec.code, time.Since(start))
	})
}
