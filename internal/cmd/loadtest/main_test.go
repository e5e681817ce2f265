package main

import (
	"bytes"
	"flag"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	tests := []struct {
		q    float64
		want float64
	}{{0.5, 50}, {0.99, 99}, {0, 1}, {1, 100}}
	for _, tt := range tests {
		if got := percentile(lat, tt.q); got != tt.want {
			t.Errorf("percentile(1..100 µs, %v) = %v; want %v", tt.q, got, tt.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v; want 0", got)
	}
}

func TestAppURL(t *testing.T) {
	tests := []struct {
		name, banner, want string
		ok                 bool
	}{
		{"dev banner", "oktasso example workspace: dev mode\n  app:       http://127.0.0.1:4321\n  fake Okta: http://127.0.0.1:9\n", "http://127.0.0.1:4321", true},
		{"no banner", "time=… level=ERROR msg=oops\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appURL(strings.NewReader(tt.banner))
			if got != tt.want || (err == nil) != tt.ok {
				t.Errorf("appURL = %q, %v; want %q, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestStatCPU(t *testing.T) {
	tests := []struct {
		name, stat string
		want       time.Duration
	}{
		{"plain", "4242 (workspace) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 37 0 0 20 0 9 0 123 0", 2870 * time.Millisecond},
		{"name with spaces and parentheses", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0", 70 * time.Millisecond},
		{"truncated", "7 (x) R 1 7", 0},
		{"no name", "garbage", 0},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s 0 0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statCPU(tt.stat); got != tt.want {
				t.Errorf("statCPU(%q) = %v; want %v", tt.stat, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{0.7}, 0.7},
		{"three, unsorted", []float64{0.95, 0.80, 0.91}, 0.91},
		{"four: the middle two's mean", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := median(in); got != tt.want {
				t.Errorf("median(%v) = %v; want %v", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("median reordered its input: %v", in)
			}
		})
	}
}

// TestRatios: a route's ratio is the median of its per-round ratios to the
// baseline of the same round (not the ratio of the totals), and the CPU
// ratio is the baseline's CPU per request over the route's.
func TestRatios(t *testing.T) {
	sys := System{Results: []Result{
		{Path: "/healthz", RoundRPS: []float64{1000, 2000, 500}, AppCPUMicros: 20},
		{Path: "/api/me", Cookie: true, RoundRPS: []float64{900, 1900, 250}, AppCPUMicros: 25},
		{Path: "/workspace", Cookie: true, RoundRPS: []float64{800}, AppCPUMicros: 0},
	}}
	sys.ratios()
	if got := sys.Ratios["/api/me"]; got != 0.9 { // rounds: 0.9, 0.95, 0.5
		t.Errorf(`Ratios["/api/me"] = %v; want 0.9, the median of 0.9, 0.95 and 0.5`, got)
	}
	if got := sys.Ratios["/workspace"]; got != 0.8 {
		t.Errorf(`Ratios["/workspace"] = %v; want 0.8 (only the rounds both have)`, got)
	}
	if got := sys.AppCPURatios["/api/me"]; got != 0.8 {
		t.Errorf(`AppCPURatios["/api/me"] = %v; want 20/25`, got)
	}
	if _, ok := sys.AppCPURatios["/workspace"]; ok {
		t.Error("AppCPURatios has a route whose CPU is unknown")
	}
	empty := System{}
	empty.ratios() // no results: no panic, no ratios
	if len(empty.Ratios) != 0 {
		t.Errorf("ratios of no results = %v", empty.Ratios)
	}
}

// TestReportPrint: the report names both systems, each route's cookie, the
// per-round figures and the goal's verdict, and the side-by-side line.
func TestReportPrint(t *testing.T) {
	ok := System{Name: "oktasso (examples/workspace)", Results: []Result{
		{Path: "/healthz", RPS: 1000, RoundRPS: []float64{1000}, AppCPUMicros: 20},
		{Path: "/api/me", Cookie: true, RPS: 850, RoundRPS: []float64{850}, AppCPUMicros: 24},
	}}
	ok.ratios()
	px := System{Name: "oauth2-proxy", Results: []Result{
		{Path: "/ping", RPS: 1000, RoundRPS: []float64{1000}, AppCPUMicros: 30},
		{Path: "/oauth2/auth", Cookie: true, RPS: 600, RoundRPS: []float64{600}, AppCPUMicros: 140},
	}}
	px.ratios()
	rep := Report{Connections: 16, Rounds: 1, System: ok, OAuth2Proxy: &px}
	var b bytes.Buffer
	rep.print(&b)
	out := b.String()
	for _, want := range []string{
		"oktasso (examples/workspace)", "oauth2-proxy",
		"/api/me ÷ /healthz throughput, median of the rounds: 0.850 (goal ≥ 0.90: NOT met)",
		"/oauth2/auth ÷ /ping throughput, median of the rounds: 0.600;",
		"side by side:", "140.0µs server CPU/req, ratio 0.600",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Split(out, "\n"); !strings.Contains(strings.Join(lines, "\n"), "/healthz          no") {
		t.Errorf("report does not say /healthz carries no cookie:\n%s", out)
	}
}

func TestCookieHeader(t *testing.T) {
	jar := []*http.Cookie{{Name: "oktatest_sso_x", Value: "1"}, {Name: "oktasso", Value: "v"}, {Name: "oktasso-1", Value: "w"}, {Name: "_oauth2_proxy", Value: "p"}}
	tests := []struct{ prefix, want string }{
		{"oktasso", "oktasso=v; oktasso-1=w"},
		{"_oauth2_proxy", "_oauth2_proxy=p"},
		{"none", ""},
	}
	for _, tt := range tests {
		if got := cookieHeader(jar, tt.prefix); got != tt.want {
			t.Errorf("cookieHeader(%q) = %q; want %q", tt.prefix, got, tt.want)
		}
	}
}

// TestOAuth2ProxyArgs: oauth2-proxy is pointed at the fake and this run's
// address, with PKCE, a static upstream and no request logging.
func TestOAuth2ProxyArgs(t *testing.T) {
	args := oauth2ProxyArgs("http://127.0.0.1:9", "http://127.0.0.1:4180", "0123456789abcdef0123456789abcdef")
	for _, want := range []string{
		"--oidc-issuer-url=http://127.0.0.1:9", "--http-address=127.0.0.1:4180",
		"--redirect-url=http://127.0.0.1:4180/oauth2/callback", "--upstream=static://200",
		"--code-challenge-method=S256", "--request-logging=false", "--cookie-secure=false",
		"--cookie-secret=0123456789abcdef0123456789abcdef",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("oauth2ProxyArgs lacks %q: %v", want, args)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	good := options{conns: 16, rounds: 3, dur: 3 * time.Second, warm: time.Second}
	tests := []struct {
		name string
		edit func(*options)
		ok   bool
	}{
		{"defaults", func(*options) {}, true},
		{"no connections", func(o *options) { o.conns = 0 }, false},
		{"no rounds", func(o *options) { o.rounds = 0 }, false},
		{"duration under a millisecond a round", func(o *options) { o.dur = 2 * time.Millisecond }, false},
		{"negative warm-up", func(o *options) { o.warm = -time.Second }, false},
	}
	if err := flag.CommandLine.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			if err := o.check(); (err == nil) != tt.ok {
				t.Errorf("check(%+v) = %v; want ok=%v", o, err, tt.ok)
			}
		})
	}
}
