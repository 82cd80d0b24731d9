// sample-app is the Go HTTP server edgecanary releases: /, /version, /health, and /metrics
// (Prometheus text format: requests by code, path and version, a latency histogram).
//
// The version is set at build time: go build -ldflags "-X main.version=2.0".
// Fault knobs (environment) let tests and demos make a release go wrong on purpose:
// FAIL_RATE, HEALTH_STATUS, LATENCY_MS, READY_AFTER_S, CRASH_AFTER_S, ALLOC_MB, LISTEN_AFTER_S.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

var version = "dev"

// Knobs are the fault settings read from the environment at start.
type Knobs struct {
	FailRate     float64
	HealthStatus int
	Latency      time.Duration
	ReadyAfter   time.Duration
	CrashAfter   time.Duration
	AllocMB      int
	Drain        time.Duration
	// ListenAfter delays opening the port: until then every connection is refused.
	ListenAfter time.Duration
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// ReadKnobs reads the fault knobs; unset or malformed values keep the defaults.
func ReadKnobs() Knobs {
	return Knobs{
		FailRate:     envFloat("FAIL_RATE", 0),
		HealthStatus: envInt("HEALTH_STATUS", http.StatusOK),
		Latency:      time.Duration(envFloat("LATENCY_MS", 0) * float64(time.Millisecond)),
		ReadyAfter:   time.Duration(envFloat("READY_AFTER_S", 0) * float64(time.Second)),
		CrashAfter:   time.Duration(envFloat("CRASH_AFTER_S", 0) * float64(time.Second)),
		AllocMB:      envInt("ALLOC_MB", 0),
		Drain:        time.Duration(envFloat("DRAIN_SECONDS", 2) * float64(time.Second)),
		ListenAfter:  time.Duration(envFloat("LISTEN_AFTER_S", 0) * float64(time.Second)),
	}
}

// App holds the handler state: the start time for READY_AFTER_S, the draining flag and the
// count of requests FAIL_RATE applies to.
type App struct {
	knobs    Knobs
	started  time.Time
	draining atomic.Bool
	served   atomic.Int64
}

// NewApp returns an App with the given knobs.
func NewApp(k Knobs) *App {
	return &App{knobs: k, started: time.Now()}
}

// FailsAt reports whether request n (1-based, counted per process over / and /version) fails
// under FAIL_RATE rate: when floor(n·rate) > floor((n−1)·rate). The first request succeeds and
// exactly the given share of any prefix fails (rounded down), so a test knows what it gets.
//
//	FailsAt(1, 0.5) → false;  FailsAt(2, 0.5) → true;  FailsAt(3, 0.5) → false
//	FailsAt(1..10, 0.3) → fails at 4, 7, 10
func FailsAt(n int64, rate float64) bool {
	if rate <= 0 || n < 1 {
		return false
	}
	// a tiny epsilon so that e.g. 100·0.29 (28.999…96 in floating point) counts as 29
	const eps = 1e-9
	return math.Floor(float64(n)*rate+eps) > math.Floor(float64(n-1)*rate+eps)
}

// Handler serves /, /version and /health; every response carries X-App-Version.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version)
		switch {
		case a.draining.Load():
			http.Error(w, "draining", http.StatusServiceUnavailable)
		case time.Since(a.started) < a.knobs.ReadyAfter:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(a.knobs.HealthStatus)
			fmt.Fprintln(w, http.StatusText(a.knobs.HealthStatus))
		}
	})
	mux.HandleFunc("/version", a.faulty(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	}))
	mux.HandleFunc("/", a.faulty(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		host, _ := os.Hostname()
		fmt.Fprintf(w, "<!doctype html><title>kubeapp %s</title><h1>kubeapp version %s</h1><p>served by %s</p>\n", version, version, host)
	}))
	return mux
}

// faulty wraps a handler with LATENCY_MS and FAIL_RATE (deterministic per process, see FailsAt).
func (a *App) faulty(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version)
		if a.knobs.Latency > 0 {
			time.Sleep(a.knobs.Latency)
		}
		if a.knobs.FailRate > 0 && FailsAt(a.served.Add(1), a.knobs.FailRate) {
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		next(w, r)
	}
}

func main() {
	knobs := ReadKnobs()
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var ballast []byte
	if knobs.AllocMB > 0 {
		ballast = make([]byte, knobs.AllocMB<<20)
		for i := 0; i < len(ballast); i += 4096 {
			ballast[i] = 1
		}
	}
	app := NewApp(knobs)
	srv := &http.Server{Addr: ":" + port, Handler: NewMetrics().Instrument(app.Handler()), ReadHeaderTimeout: 5 * time.Second}

	if knobs.CrashAfter > 0 {
		time.AfterFunc(knobs.CrashAfter, func() {
			log.Printf("crashing after %s (CRASH_AFTER_S)", knobs.CrashAfter)
			os.Exit(1)
		})
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		// Fail /health first so the endpoint is removed, keep serving while draining.
		app.draining.Store(true)
		log.Printf("SIGTERM: draining for %s", knobs.Drain)
		time.Sleep(knobs.Drain)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	if knobs.ListenAfter > 0 {
		log.Printf("refusing connections for %s (LISTEN_AFTER_S)", knobs.ListenAfter)
		time.Sleep(knobs.ListenAfter)
	}
	log.Printf("kubeapp %s listening on :%s", version, port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	_ = ballast
	log.Printf("kubeapp %s stopped", version)
}
