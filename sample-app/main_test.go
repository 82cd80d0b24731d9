package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestVersionAndHeader(t *testing.T) {
	version = "2.0"
	h := NewApp(Knobs{HealthStatus: 200}, func() float64 { return 1 }).Handler()
	rec := get(t, h, "/version")
	if rec.Code != 200 || rec.Body.String() != "2.0\n" {
		t.Fatalf("GET /version = %d %q, want 200 \"2.0\\n\"", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("X-App-Version"); got != "2.0" {
		t.Fatalf("X-App-Version = %q", got)
	}
	if rec := get(t, h, "/"); !strings.Contains(rec.Body.String(), "version 2.0") {
		t.Fatalf("GET / does not name the version: %q", rec.Body.String())
	}
}

func TestHealthStatusKnob(t *testing.T) {
	h := NewApp(Knobs{HealthStatus: 500}, func() float64 { return 1 }).Handler()
	if rec := get(t, h, "/health"); rec.Code != 500 {
		t.Fatalf("HEALTH_STATUS=500: /health = %d", rec.Code)
	}
}

func TestFailRateKnob(t *testing.T) {
	next := []float64{0.1, 0.9}
	i := 0
	h := NewApp(Knobs{FailRate: 0.5, HealthStatus: 200}, func() float64 { v := next[i%2]; i++; return v }).Handler()
	if rec := get(t, h, "/version"); rec.Code != 500 {
		t.Fatalf("draw 0.1 < 0.5 should fail, got %d", rec.Code)
	}
	if rec := get(t, h, "/version"); rec.Code != 200 {
		t.Fatalf("draw 0.9 >= 0.5 should pass, got %d", rec.Code)
	}
	if rec := get(t, h, "/health"); rec.Code != 200 {
		t.Fatalf("FAIL_RATE must not touch /health, got %d", rec.Code)
	}
}

func TestReadyAfterAndDraining(t *testing.T) {
	a := NewApp(Knobs{HealthStatus: 200, ReadyAfter: 50 * time.Millisecond}, func() float64 { return 1 })
	h := a.Handler()
	if rec := get(t, h, "/health"); rec.Code != 503 {
		t.Fatalf("before READY_AFTER_S /health = %d, want 503", rec.Code)
	}
	time.Sleep(60 * time.Millisecond)
	if rec := get(t, h, "/health"); rec.Code != 200 {
		t.Fatalf("after READY_AFTER_S /health = %d, want 200", rec.Code)
	}
	a.draining.Store(true)
	if rec := get(t, h, "/health"); rec.Code != 503 {
		t.Fatalf("draining /health = %d, want 503", rec.Code)
	}
	if rec := get(t, h, "/version"); rec.Code != 200 {
		t.Fatalf("draining still serves /version, got %d", rec.Code)
	}
}

func TestLatencyKnob(t *testing.T) {
	h := NewApp(Knobs{HealthStatus: 200, Latency: 30 * time.Millisecond}, func() float64 { return 1 }).Handler()
	start := time.Now()
	get(t, h, "/version")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("LATENCY_MS=30 answered in %s", d)
	}
}

func TestReadKnobs(t *testing.T) {
	t.Setenv("FAIL_RATE", "0.3")
	t.Setenv("HEALTH_STATUS", "503")
	t.Setenv("LATENCY_MS", "800")
	t.Setenv("CRASH_AFTER_S", "2")
	t.Setenv("ALLOC_MB", "64")
	k := ReadKnobs()
	if k.FailRate != 0.3 || k.HealthStatus != 503 || k.Latency != 800*time.Millisecond || k.CrashAfter != 2*time.Second || k.AllocMB != 64 {
		t.Fatalf("knobs = %+v", k)
	}
}
