// Command loadtest puts the example application (examples/workspace, dev
// mode: a fake Okta in the same process) under a bounded load on loopback
// and compares guarded routes with a valid session with the unprotected
// GET /healthz of the same process: GET /api/me (the guard plus a small JSON
// answer: what the session check costs a request) and GET /workspace (the
// guard plus the example's HTML page, whose template dominates).
//
//	go run ./internal/cmd/loadtest -c 64 -d 10s -json docs/bench/loadtest.json
//
// Run it from the repository root (it builds ./examples/workspace, a module
// of go.work), or give a built example with -bin.
//
// It builds the example, starts it on 127.0.0.1 with a random port, signs
// in once through the fake Okta's sign-in form as the demo user alice, then
// runs each route for -d in all, in -rounds interleaved rounds, with -c
// connections (each a loop of requests on
// one keep-alive connection; every request carries the session cookie, as a
// browser sends it to every path of the site, so the routes differ only in
// what the server does) and reports requests per second, p50 and p99
// latency, errors (transport errors and any status but 200), the
// application's resident memory (VmRSS) before and after each run, and the
// CPU time the application and the load generator each spent per request.
// The load generator runs on the same machine: its CPU use counts against
// both routes alike, except for the bytes of the answers (headers and body
// it reads). -control measures those: a bare net/http server in this
// process answering like /healthz, then with /workspace's headers, then
// with its headers and a body of its size.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// routes are run in this order; the first is the unprotected baseline.
var routes = []string{"/healthz", "/api/me", "/workspace"}

// Result is one route's run.
type Result struct {
	Path      string  `json:"path"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	RPS       float64 `json:"rps"`
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"`
	// AppCPUMicros is the application's CPU time (user and system, all
	// threads) per successful request, and GenCPUMicros the load
	// generator's: where the two CPUs' time went. Zero when unknown.
	AppCPUMicros float64 `json:"app_cpu_us,omitempty"`
	GenCPUMicros float64 `json:"gen_cpu_us,omitempty"`
}

// Report is what -json writes.
type Report struct {
	When        string   `json:"when"`
	CPU         string   `json:"cpu"`
	CPUs        int      `json:"cpus"`
	GoVersion   string   `json:"go"`
	Connections int      `json:"connections"`
	Duration    string   `json:"duration"` // per route, over all rounds
	Rounds      int      `json:"rounds"`
	Results     []Result `json:"results"`
	// RSSStartKB and RSSEndKB are the application's resident memory
	// after the warm-up and after the last round.
	RSSStartKB int `json:"rss_start_kb"`
	RSSEndKB   int `json:"rss_end_kb"`
	// Ratios are each guarded route's requests per second over /healthz's.
	Ratios map[string]float64 `json:"ratios"`
	// AppCPURatios are /healthz's application CPU per request over each
	// guarded route's: the throughput ratio if the application had the
	// CPUs to itself (the load generator and the answers' bytes left out).
	AppCPURatios map[string]float64 `json:"app_cpu_ratios,omitempty"`
	// Control (with -control) is a bare net/http server in the load
	// generator's process answering like /healthz, then with /workspace's
	// headers, then with its headers and a body of its size: what the
	// bytes of a page cost, without oktasso. Its GenCPUMicros is the
	// server's and the generator's CPU together.
	Control []Result `json:"control,omitempty"`
}

func main() {
	conns := flag.Int("c", 64, "concurrent `connections`")
	dur := flag.Duration("d", 10*time.Second, "`duration` of each route's run, over all rounds")
	rounds := flag.Int("rounds", 5, "interleaved `rounds` (each runs every route for d/rounds)")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up `duration` before the runs")
	jsonOut := flag.String("json", "", "also write the report as JSON to `file`")
	bin := flag.String("bin", "", "a built example `binary` (default: go build ./examples/workspace)")
	ctl := flag.Bool("control", false, "also measure a bare net/http server answering with /workspace's headers and body size")
	flag.Parse()
	if err := run(*conns, *rounds, *dur, *warm, *bin, *jsonOut, *ctl); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(conns, rounds int, dur, warm time.Duration, bin, jsonOut string, ctl bool) error {
	if conns < 1 || rounds < 1 || dur < time.Duration(rounds)*time.Millisecond {
		return errors.New("-c and -rounds must be positive, and -d at least a millisecond per round")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	app, base, err := startApp(ctx, dir, bin)
	if err != nil {
		return err
	}
	defer func() { app.Process.Signal(os.Interrupt); app.Wait() }()

	cookie, err := signIn(base)
	if err != nil {
		return fmt.Errorf("signing in: %w", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, path := range routes {
		load(client, base+path, cookie, conns, warm/time.Duration(len(routes)))
	}
	rep := Report{
		When: time.Now().UTC().Format(time.RFC3339), CPU: cpuModel(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Connections: conns, Duration: dur.String(), Rounds: rounds,
	}
	rep.Results, rep.RSSStartKB, rep.RSSEndKB = measure(client, base, cookie, app.Process.Pid, conns, rounds, dur)
	rep.ratios()
	rep.print()
	if ctl {
		if rep.Control, err = runControl(client, base, cookie, conns, rounds, dur); err != nil {
			return err
		}
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	for _, r := range rep.Results {
		if r.Errors > 0 {
			return errors.New("some requests failed")
		}
	}
	return nil
}

// runControl measures and prints the control (see [Report.Control]) with
// the headers and body size of /workspace's answer.
func runControl(client *http.Client, base, cookie string, conns, rounds int, dur time.Duration) ([]Result, error) {
	header, size, err := responseShape(client, base+"/workspace", cookie)
	if err != nil {
		return nil, err
	}
	results := control(client, conns, rounds, dur, header, size)
	fmt.Printf("control: a bare net/http server in this process, no oktasso (%d headers, %d-byte body)\n", len(header), size)
	for _, r := range results {
		fmt.Printf("%-28s %9.0f req/s  %.3f× the first  %5.1fµs CPU/req (server and generator)\n", r.Path, r.RPS, r.RPS/results[0].RPS, r.GenCPUMicros)
	}
	return results, nil
}

// startApp builds the example into dir unless bin is set, starts it on
// 127.0.0.1 with a random port and returns it with its URL. The caller
// stops it.
func startApp(ctx context.Context, dir, bin string) (*exec.Cmd, string, error) {
	if bin == "" {
		bin = filepath.Join(dir, "workspace")
		build := exec.Command("go", "build", "-o", bin, "./examples/workspace")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, "", fmt.Errorf("building the example: %w", err)
		}
	}
	app := exec.CommandContext(ctx, bin)
	// A fresh accounts file: the workspace page lists one account (alice),
	// whatever earlier runs left in the default file.
	app.Env = append(os.Environ(), "ADDR=127.0.0.1:0", "ACCOUNTS_FILE="+filepath.Join(dir, "accounts.json"))
	out, err := app.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	app.Stderr = os.Stderr
	if err := app.Start(); err != nil {
		return nil, "", err
	}
	base, err := appURL(out)
	if err != nil {
		app.Process.Signal(os.Interrupt)
		app.Wait()
		return nil, "", err
	}
	go io.Copy(io.Discard, out) // the app's log
	return app, base, nil
}

// measure runs each route for dur in all, in interleaved rounds, against
// the application with process id pid, and returns a result per route and
// the application's resident memory before and after.
func measure(client *http.Client, base, cookie string, pid, conns, rounds int, dur time.Duration) (results []Result, rssStart, rssEnd int) {
	// Interleaved rounds: a change in the machine's other load (it may be
	// shared) affects every route alike instead of the one running then.
	lats := make([][]time.Duration, len(routes))
	errs := make([]int, len(routes))
	appCPU := make([]time.Duration, len(routes))
	genCPU := make([]time.Duration, len(routes))
	rssStart = rssKB(pid)
	for range rounds {
		for i, path := range routes {
			app0, gen0 := processCPU(pid), selfCPU()
			lat, n := load(client, base+path, cookie, conns, dur/time.Duration(rounds))
			lats[i], errs[i] = append(lats[i], lat...), errs[i]+n
			appCPU[i] += processCPU(pid) - app0
			genCPU[i] += selfCPU() - gen0
		}
	}
	rssEnd = rssKB(pid)
	for i, path := range routes {
		results = append(results, Result{
			Path: path, Requests: len(lats[i]), Errors: errs[i], RPS: float64(len(lats[i])) / dur.Seconds(),
			P50Micros: percentile(lats[i], 0.50), P99Micros: percentile(lats[i], 0.99),
			AppCPUMicros: perRequest(appCPU[i], len(lats[i])), GenCPUMicros: perRequest(genCPU[i], len(lats[i])),
		})
	}
	return results, rssStart, rssEnd
}

// ratios sets Ratios and AppCPURatios from the results.
func (rep *Report) ratios() {
	rep.Ratios, rep.AppCPURatios = map[string]float64{}, map[string]float64{}
	for _, r := range rep.Results[1:] {
		rep.Ratios[r.Path] = r.RPS / rep.Results[0].RPS
		if r.AppCPUMicros > 0 {
			rep.AppCPURatios[r.Path] = rep.Results[0].AppCPUMicros / r.AppCPUMicros
		}
	}
}

// print writes the report's routes, memory and ratios to stdout.
func (rep *Report) print() {
	fmt.Printf("loadtest: %d connections, %s per route in %d interleaved rounds, %s, %d CPUs, %s (load generator on the same machine)\n",
		rep.Connections, rep.Duration, rep.Rounds, rep.CPU, rep.CPUs, rep.GoVersion)
	fmt.Printf("%-11s %9s %9s %8s %10s %10s %12s %12s\n", "route", "requests", "req/s", "errors", "p50", "p99", "app CPU/req", "gen CPU/req")
	for _, r := range rep.Results {
		fmt.Printf("%-11s %9d %9.0f %8d %8.0fµs %8.0fµs %10.1fµs %10.1fµs\n", r.Path, r.Requests, r.RPS, r.Errors, r.P50Micros, r.P99Micros, r.AppCPUMicros, r.GenCPUMicros)
	}
	fmt.Printf("application RSS: %.1f MB after warm-up, %.1f MB at the end\n", float64(rep.RSSStartKB)/1024, float64(rep.RSSEndKB)/1024)
	for _, r := range rep.Results[1:] {
		fmt.Printf("%s ÷ /healthz throughput: %.3f (goal ≥ 0.95); application CPU per request, /healthz ÷ %s: %.3f\n",
			r.Path, rep.Ratios[r.Path], r.Path, rep.AppCPURatios[r.Path])
	}
}

// appURL reads the example's dev-mode banner for the app's URL.
func appURL(out io.Reader) (string, error) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "app:"); ok {
			return strings.TrimSpace(rest), nil
		}
	}
	return "", errors.New("the example did not print its URL (is it in dev mode? unset OKTA_DOMAIN)")
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	formHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// signIn signs alice in through the fake Okta's form and returns the Cookie
// header that carries her session.
func signIn(base string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/auth/login?return_to=/workspace")
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(page)
	if m == nil {
		return "", fmt.Errorf("no sign-in form at %s (status %d)", resp.Request.URL, resp.StatusCode)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return "", err
	}
	form := url.Values{"username": {"alice@example.com"}, "password": {"alice-password"}}
	for _, h := range formHidden.FindAllSubmatch(page, -1) {
		form.Set(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	resp, err = c.PostForm(action.String(), form)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/workspace" {
		return "", fmt.Errorf("sign-in ended at %s with %d; want /workspace 200", resp.Request.URL, resp.StatusCode)
	}
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; "), nil
}

// responseShape returns the headers the server sets on a GET of target
// (those net/http adds itself left out) and the body's length.
func responseShape(client *http.Client, target, cookie string) (http.Header, int, error) {
	req, _ := http.NewRequest("GET", target, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s = %d, %v", target, resp.StatusCode, err)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return h, len(body), nil
}

// control runs the bare server's three answers in interleaved rounds.
func control(client *http.Client, conns, rounds int, dur time.Duration, header http.Header, size int) []Result {
	body := []byte(strings.Repeat("x", size))
	answers := []struct {
		name   string
		header http.Header
		body   []byte
	}{
		{"ok, 2 headers (/healthz)", http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Cache-Control": {"no-store"}}, []byte("ok")},
		{"ok, /workspace's headers", header, []byte("ok")},
		{"/workspace's headers, body", header, body},
	}
	mux := http.NewServeMux()
	for i, a := range answers {
		mux.HandleFunc(fmt.Sprintf("GET /%d", i), func(w http.ResponseWriter, r *http.Request) {
			maps.Copy(w.Header(), a.header)
			w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
			w.Write(a.body)
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	lats := make([][]time.Duration, len(answers))
	cpu := make([]time.Duration, len(answers))
	for range rounds {
		for i := range answers {
			cpu0 := selfCPU()
			lat, _ := load(client, fmt.Sprintf("%s/%d", srv.URL, i), "", conns, dur/time.Duration(rounds))
			lats[i] = append(lats[i], lat...)
			cpu[i] += selfCPU() - cpu0
		}
	}
	out := make([]Result, len(answers))
	for i, a := range answers {
		out[i] = Result{Path: a.name, Requests: len(lats[i]), RPS: float64(len(lats[i])) / dur.Seconds(),
			P50Micros: percentile(lats[i], 0.50), P99Micros: percentile(lats[i], 0.99), GenCPUMicros: perRequest(cpu[i], len(lats[i]))}
	}
	return out
}

// load runs conns loops of GET target for d and returns the latencies of
// the successful requests and the number of failures.
func load(client *http.Client, target, cookie string, conns int, d time.Duration) ([]time.Duration, int) {
	var (
		mu     sync.Mutex
		all    []time.Duration
		errs   int
		wg     sync.WaitGroup
		finish = time.Now().Add(d)
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			bad := 0
			for time.Now().Before(finish) {
				req, _ := http.NewRequest("GET", target, nil)
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				req.Header.Set("Accept", "application/json")
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					bad++
					continue
				}
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, errs
}

// percentile returns the q-quantile of lat in microseconds.
func percentile(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Microsecond)
}

// perRequest is d per request in microseconds, or 0.
func perRequest(d time.Duration, requests int) float64 {
	if requests == 0 || d <= 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(requests)
}

// processCPU is the CPU time process pid has used, user and system, all
// threads (Linux), or 0.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime and stime from the text of /proc/<pid>/stat. The
// command name, in parentheses, may hold spaces and parentheses, so the
// fields are counted from the last ')'. /proc counts in USER_HZ, 100 a
// second on Linux.
func statCPU(stat string) time.Duration {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}

// rssKB is the resident memory of process pid in KiB (Linux), or 0.
func rssKB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// cpuModel names the CPU (Linux), or GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
			}
		}
	}
	return runtime.GOARCH
}
