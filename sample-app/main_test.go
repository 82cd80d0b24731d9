package main

import (
	"fmt"
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
	h := NewApp(Knobs{HealthStatus: 200}).Handler()
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
	h := NewApp(Knobs{HealthStatus: 500}).Handler()
	if rec := get(t, h, "/health"); rec.Code != 500 {
		t.Fatalf("HEALTH_STATUS=500: /health = %d", rec.Code)
	}
}

func TestFailsAt(t *testing.T) {
	cases := []struct {
		rate  float64
		fails []int64 // within requests 1..10
	}{
		{0, nil},
		{0.5, []int64{2, 4, 6, 8, 10}},
		{0.3, []int64{4, 7, 10}},
		{0.1, []int64{10}},
		{1, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
	}
	for _, c := range cases {
		var got []int64
		for n := int64(1); n <= 10; n++ {
			if FailsAt(n, c.rate) {
				got = append(got, n)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.fails) {
			t.Errorf("FAIL_RATE=%v: requests %v fail, want %v", c.rate, got, c.fails)
		}
	}
	// exactly the share over a long run, with rates that are not exact in floating point
	for _, rate := range []float64{0.29, 0.3, 0.5, 0.7, 0.01} {
		n := 0
		for i := int64(1); i <= 1000; i++ {
			if FailsAt(i, rate) {
				n++
			}
		}
		if want := int(rate*1000 + 0.5); n != want {
			t.Errorf("FAIL_RATE=%v: %d of 1000 failed, want %d", rate, n, want)
		}
	}
}

func TestFailRateKnob(t *testing.T) {
	h := NewApp(Knobs{FailRate: 0.5, HealthStatus: 200}).Handler()
	// /health is not counted: the probes never shift which request fails
	if rec := get(t, h, "/health"); rec.Code != 200 {
		t.Fatalf("FAIL_RATE must not touch /health, got %d", rec.Code)
	}
	// / and /version share one count: 1 ok, 2 fails, 3 ok, 4 fails
	want := []struct {
		path string
		code int
	}{{"/version", 200}, {"/", 500}, {"/version", 200}, {"/version", 500}}
	for i, w := range want {
		if rec := get(t, h, w.path); rec.Code != w.code {
			t.Fatalf("request %d (%s) = %d, want %d", i+1, w.path, rec.Code, w.code)
		}
	}
}

func TestReadyAfterAndDraining(t *testing.T) {
	a := NewApp(Knobs{HealthStatus: 200, ReadyAfter: 50 * time.Millisecond})
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
	h := NewApp(Knobs{HealthStatus: 200, Latency: 30 * time.Millisecond}).Handler()
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
	t.Setenv("LISTEN_AFTER_S", "1.5")
	k := ReadKnobs()
	if k.FailRate != 0.3 || k.HealthStatus != 503 || k.Latency != 800*time.Millisecond || k.CrashAfter != 2*time.Second || k.AllocMB != 64 || k.ListenAfter != 1500*time.Millisecond {
		t.Fatalf("knobs = %+v", k)
	}
}
