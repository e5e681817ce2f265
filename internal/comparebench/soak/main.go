// Command soak signs in many distinct users, one after another with a
// bounded number at a time, and reports what that costs the application's
// memory: its resident memory (VmRSS) idle and after the sign-ins, and the
// Go heap in use after a collection, in all and per sign-in.
//
//	go run ./internal/comparebench/soak -n 100000 -c 16
//
// For each application of -apps, it starts a fake Okta (package oktatest)
// on 127.0.0.1 with -n generated users, and the application in a process of
// its own (this command again, with -serve) on 127.0.0.1 with a random
// port:
//
//   - oktasso: the root package with its defaults (the session in its
//     cookie, the in-memory store with its logout index) guarding GET /me;
//   - handwired: the same work wired by hand with go-oidc and
//     golang.org/x/oauth2, the session in an AES-GCM sealed cookie, and no
//     server-side state: the comparator.
//
// Each sign-in is a new browser (a new cookie jar): GET the app's login
// route, the fake's sign-in form, POST the user's password, the callback,
// then GET /me, whose answer must name the user. Each user signs in once to
// each application. The report is a Markdown table for docs/PERFORMANCE.md
// and the ratio of oktasso's growth to the comparator's. Memory is read by
// the application itself (GET /_soak/mem): VmRSS from /proc/self/status
// (Linux; 0 elsewhere), then runtime.GC and runtime.MemStats.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

func main() {
	n := flag.Int("n", 100_000, "distinct `users` to sign in to each application")
	conc := flag.Int("c", 16, "sign-ins in flight at once")
	apps := flag.String("apps", "handwired,oktasso", "comma-separated `applications` to measure, in order")
	heapDir := flag.String("heapprofile", "", "write each application's heap profile after the sign-ins to `dir`/<application>.heap")
	serve := flag.String("serve", "", "internal: serve one `application` (oktasso or handwired) and print its URL")
	issuer := flag.String("issuer", "", "internal: the fake's issuer, with -serve")
	clientID := flag.String("client-id", "", "internal: the client ID, with -serve (the secret is in $SOAK_CLIENT_SECRET)")
	flag.Parse()
	var err error
	if *serve != "" {
		err = serveApp(*serve, *issuer, *clientID, os.Getenv("SOAK_CLIENT_SECRET"))
	} else {
		err = run(*n, *conc, strings.Split(*apps, ","), *heapDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// result is one application's run.
type result struct {
	app           string
	signIns       int
	took          time.Duration
	before, after mem
	idle, settled mem // idle and after POST /_soak/settle, freed memory returned to the system
}

// mem is what GET /_soak/mem answers.
type mem struct {
	RSSKB     int    `json:"rss_kb"`
	HeapInuse uint64 `json:"heap_inuse"`
}

func run(n, conc int, apps []string, heapDir string) error {
	if n < 1 || conc < 1 {
		return errors.New("-n and -c must be positive")
	}
	fmt.Fprintf(os.Stderr, "soak: %d users; %d sign-ins at once, %d CPUs, %s\n", n, conc, runtime.NumCPU(), runtime.Version())
	var results []result
	for _, app := range apps {
		r, err := measure(app, n, conc, heapDir)
		if err != nil {
			return fmt.Errorf("%s: %w", app, err)
		}
		results = append(results, r)
	}
	report(results)
	return nil
}

// measure starts app in a process of its own, signs in users 1 to n of a
// fake Okta of its own (so that each application meets the same fake) and
// reads its memory before and after.
func measure(app string, n, conc int, heapDir string) (result, error) {
	r := result{app: app}
	fake := oktatest.NewServer()
	defer fake.Close()
	fake.AddGeneratedUsers(n, 0)
	exe, err := os.Executable()
	if err != nil {
		return r, err
	}
	clientID, secret := "soak-"+app, rand.Text()
	cmd := exec.Command(exe, "-serve", app, "-issuer", fake.Issuer(), "-client-id", clientID)
	cmd.Env = append(os.Environ(), "SOAK_CLIENT_SECRET="+secret)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closing it stops the app
	if err != nil {
		return r, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return r, fmt.Errorf("the application did not say where it listens: %w", err)
	}
	base := strings.TrimSpace(line)
	routes := appRoutes[app]
	fake.AddClient(oktatest.Client{ID: clientID, Secret: secret, RedirectURIs: []string{base + routes.callback}})

	client := &http.Client{Timeout: 30 * time.Second}
	if r.idle, err = readMem(client, base, "/_soak/mem-settled"); err != nil {
		return r, err
	}
	if r.before, err = readMem(client, base, "/_soak/mem"); err != nil {
		return r, err
	}
	start := time.Now()
	signedIn, err := signInAll(context.Background(), base, routes.login, n, conc)
	r.took, r.signIns = time.Since(start), signedIn
	if err != nil {
		return r, err
	}
	if r.after, err = readMem(client, base, "/_soak/mem"); err != nil {
		return r, err
	}
	if heapDir != "" {
		if err := saveHeap(client, base, filepath.Join(heapDir, app+".heap")); err != nil {
			return r, err
		}
	}
	resp, err := client.Post(base+"/_soak/settle", "", nil)
	if err != nil {
		return r, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return r, fmt.Errorf("settle: %s", resp.Status)
	}
	r.settled, err = readMem(client, base, "/_soak/mem-settled")
	return r, err
}

// saveHeap writes the application's heap profile to file.
func saveHeap(c *http.Client, base, file string) error {
	resp, err := c.Get(base + "/_soak/heap")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

func readMem(c *http.Client, base, path string) (mem, error) {
	var m mem
	resp, err := c.Get(base + path)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	return m, json.NewDecoder(resp.Body).Decode(&m)
}

// report prints the results as a Markdown table, then the ratios of the
// last application's growth to the first's.
func report(rs []result) {
	fmt.Println("| application | sign-ins | time | RSS idle | RSS after | RSS growth per sign-in | heap in use idle | heap in use after | heap growth per sign-in |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %s | %d | %s | %.1f MB | %.1f MB | %s | %.1f MB | %.1f MB | %s |\n",
			r.app, r.signIns, r.took.Round(time.Second),
			float64(r.before.RSSKB)/1024, float64(r.after.RSSKB)/1024, perSignIn(rssGrowth(r), r.signIns),
			mb(r.before.HeapInuse), mb(r.after.HeapInuse), perSignIn(heapGrowth(r), r.signIns))
	}
	fmt.Println()
	fmt.Println("Settled: each application's clock past the 10-minute replay window of a sign-in's state, expired entries swept, freed memory returned to the system; what the sessions themselves cost.")
	fmt.Println()
	fmt.Println("| application | RSS settled | RSS growth per sign-in, settled | heap in use settled | heap growth per sign-in, settled |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Printf("| %s | %.1f MB | %s | %.1f MB | %s |\n", r.app,
			float64(r.settled.RSSKB)/1024, perSignIn(float64(r.settled.RSSKB-r.idle.RSSKB)*1024, r.signIns),
			mb(r.settled.HeapInuse), perSignIn(float64(r.settled.HeapInuse)-float64(r.idle.HeapInuse), r.signIns))
	}
	if len(rs) >= 2 {
		first, last := rs[0], rs[len(rs)-1]
		fmt.Printf("\n%s / %s: RSS growth %s, heap growth %s; settled: RSS growth %s, heap growth %s\n", last.app, first.app,
			ratio(rssGrowth(last), rssGrowth(first)), ratio(heapGrowth(last), heapGrowth(first)),
			ratio(float64(last.settled.RSSKB-last.idle.RSSKB), float64(first.settled.RSSKB-first.idle.RSSKB)),
			ratio(float64(last.settled.HeapInuse)-float64(last.idle.HeapInuse), float64(first.settled.HeapInuse)-float64(first.idle.HeapInuse)))
	}
}

func rssGrowth(r result) float64  { return float64(r.after.RSSKB-r.before.RSSKB) * 1024 }
func heapGrowth(r result) float64 { return float64(r.after.HeapInuse) - float64(r.before.HeapInuse) }
func mb(b uint64) float64         { return float64(b) / (1 << 20) }

func perSignIn(bytes float64, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f B", bytes/float64(n))
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
