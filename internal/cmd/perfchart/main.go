// Command perfchart turns benchmark output and a load-test report into the
// numbers and the chart of docs/PERFORMANCE.md:
//
//	perfchart -bench bench.txt [-bench redis.txt] -load loadtest.json -o docs/performance.png
//
// It prints a Markdown table of the medians of every benchmark (run them
// with -count 6) and draws a PNG with the session check against its floor
// and gorilla/sessions (ns per request, log scale), and the load test's
// throughput and p50/p99 latency per route. Standard library only: the
// labels use a built-in 5×7 pixel font.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var benches multiFlag
	flag.Var(&benches, "bench", "go test -bench output `file` (repeatable)")
	load := flag.String("load", "", "loadtest -json report `file`")
	out := flag.String("o", "docs/performance.png", "PNG `file` to write")
	flag.Parse()
	if err := run(benches, *load, *out); err != nil {
		fmt.Fprintln(os.Stderr, "perfchart:", err)
		os.Exit(1)
	}
}

// stat is one benchmark's samples.
type stat struct {
	name          string
	ns, b, allocs []float64
	extra         map[string][]float64 // other metrics, e.g. logins/s
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parseBench(path string, stats map[string]*stat, order *[]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		st := stats[m[1]]
		if st == nil {
			st = &stat{name: m[1], extra: map[string][]float64{}}
			stats[m[1]] = st
			*order = append(*order, m[1])
		}
		fields := strings.Fields(m[2])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			switch unit := fields[i+1]; unit {
			case "ns/op":
				st.ns = append(st.ns, v)
			case "B/op":
				st.b = append(st.b, v)
			case "allocs/op":
				st.allocs = append(st.allocs, v)
			case "MB/s":
			default:
				st.extra[unit] = append(st.extra[unit], v)
			}
		}
	}
	return sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// report is the part of loadtest's JSON that is drawn or summed up.
type report struct {
	Connections int    `json:"connections"`
	Duration    string `json:"duration"`
	loadSystem
	OAuth2Proxy *loadSystem `json:"oauth2_proxy"`
}

// loadSystem is one system's part of loadtest's JSON.
type loadSystem struct {
	Name    string `json:"name"`
	Results []struct {
		Path         string  `json:"path"`
		RPS          float64 `json:"rps"`
		P50Micros    float64 `json:"p50_us"`
		P99Micros    float64 `json:"p99_us"`
		Errors       int     `json:"errors"`
		AppCPUMicros float64 `json:"app_cpu_us"`
	} `json:"results"`
	Ratios map[string]float64 `json:"ratios"`
}

// ratios are the quotients of issue 21's targets: a metric's median in
// one benchmark over another's.
var ratios = []struct {
	what, num, den, unit string
}{
	{"session check on a miss ÷ the floor of today's cookie", "BenchmarkSessionCheck/miss", "BenchmarkFloor/base64+aesgcm", "ns/op"},
	{"session check on a miss ÷ the floor of v0.1's two-part cookie", "BenchmarkSessionCheck/miss", "BenchmarkFloor/base64+aesgcm-v0.1-cookie", "ns/op"},
	{"sign-in CPU, oktasso ÷ hand-wired go-oidc (target ≤ 1.1)", "BenchmarkSignIn/oktasso", "BenchmarkSignIn/handwired", "cpu-ns/op"},
	{"sign-in CPU, eight at a time per CPU", "BenchmarkSignIn/oktasso/parallel", "BenchmarkSignIn/handwired/parallel", "cpu-ns/op"},
	{"sign-in allocations, oktasso ÷ hand-wired", "BenchmarkSignIn/oktasso", "BenchmarkSignIn/handwired", "allocs/op"},
}

// metric is the samples of unit in st.
func (st *stat) metric(unit string) []float64 {
	switch unit {
	case "ns/op":
		return st.ns
	case "B/op":
		return st.b
	case "allocs/op":
		return st.allocs
	}
	return st.extra[unit]
}

// printRatios writes the ratios table and the load test's ratios.
func printRatios(stats map[string]*stat, rep report) {
	fmt.Println()
	fmt.Println("| ratio | value |")
	fmt.Println("|---|---:|")
	for _, r := range ratios {
		n, d := stats[r.num], stats[r.den]
		if n == nil || d == nil || len(n.metric(r.unit)) == 0 || len(d.metric(r.unit)) == 0 {
			continue
		}
		fmt.Printf("| %s (%s) | %.2f |\n", r.what, r.unit, median(n.metric(r.unit))/median(d.metric(r.unit)))
	}
	for _, sys := range []*loadSystem{&rep.loadSystem, rep.OAuth2Proxy} {
		if sys == nil || len(sys.Results) < 2 {
			continue
		}
		base := sys.Results[0]
		for i, r := range sys.Results {
			if i > 0 {
				fmt.Printf("| load, %s: %s ÷ %s throughput, median of the rounds | %.2f |\n", sys.Name, r.Path, base.Path, sys.Ratios[r.Path])
			}
			if r.AppCPUMicros > 0 {
				fmt.Printf("| load, %s: %s server CPU per request (µs) | %.1f |\n", sys.Name, r.Path, r.AppCPUMicros)
			}
		}
	}
}

func run(benches []string, loadPath, out string) error {
	if len(benches) == 0 {
		return errors.New("no -bench file")
	}
	stats, order := map[string]*stat{}, []string{}
	for _, b := range benches {
		if err := parseBench(b, stats, &order); err != nil {
			return err
		}
	}
	fmt.Println("| benchmark | ns/op (median) | min–max | B/op | allocs/op | other |")
	fmt.Println("|---|---:|---:|---:|---:|---|")
	for _, name := range order {
		st := stats[name]
		other := ""
		for unit, v := range st.extra {
			other += fmt.Sprintf("%.0f %s ", median(v), unit)
		}
		fmt.Printf("| `%s` | %s | %s–%s | %s | %s | %s|\n", strings.TrimPrefix(name, "Benchmark"), num(median(st.ns)),
			num(slices.Min(st.ns)), num(slices.Max(st.ns)), num(median(st.b)), num(median(st.allocs)), other)
	}
	var rep report
	if loadPath != "" {
		b, err := os.ReadFile(loadPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", loadPath, err)
		}
	}
	printRatios(stats, rep)
	img := draw(stats, rep)
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// num formats a number with thousands separators (one decimal under 10).
func num(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v < 10 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// bars drawn in the left panel: benchmark, label, colour.
var nsBars = []struct {
	bench, label string
	c            color.RGBA
}{
	{"BenchmarkFloor/aesgcm", "FLOOR: AES-GCM OPEN OF THE COOKIE", grey},
	{"BenchmarkFloor/base64+aesgcm", "FLOOR: BASE64 + AES-GCM", grey},
	{"BenchmarkSessionCheck/hit", "SESSION CHECK, CACHE HIT", green},
	{"BenchmarkSessionCheck/miss", "SESSION CHECK, CACHE MISS", blue},
	{"BenchmarkGuard/hit", "GUARD, CACHE HIT", green},
	{"BenchmarkGuard/miss", "GUARD, CACHE MISS", blue},
	{"BenchmarkOpenSession/cookie", "COOKIE DECODE, FORMAT V4", blue},
	{"BenchmarkOpenSession/v3", "COOKIE DECODE, V3 (BEFORE)", purple},
	{"BenchmarkOpenSession/v2", "COOKIE DECODE, V2 (BEFORE)", purple},
	{"BenchmarkGorillaSessions/signed", "GORILLA/SESSIONS (OKTA SAMPLES)", orange},
	{"BenchmarkGorillaSessions/encrypted", "GORILLA/SESSIONS, ENCRYPTED", orange},
	{"BenchmarkAuthenticatedRequest/cookie/redis-store/hit", "GUARD + REDIS REVOCATION GET", red},
	{"BenchmarkAuthenticatedRequest/cookie/redis-store/hit+revocation-ttl-1s", "GUARD + REDIS, REVOCATION TTL 1S", green},
}

var (
	white  = color.RGBA{255, 255, 255, 255}
	black  = color.RGBA{30, 30, 30, 255}
	grey   = color.RGBA{150, 150, 150, 255}
	light  = color.RGBA{225, 225, 225, 255}
	green  = color.RGBA{46, 160, 67, 255}
	blue   = color.RGBA{31, 111, 235, 255}
	orange = color.RGBA{219, 109, 40, 255}
	red    = color.RGBA{207, 34, 46, 255}
	purple = color.RGBA{130, 80, 223, 255}
)

const (
	width, height = 1400, 680
	scale         = 2 // font pixels
)

func draw(stats map[string]*stat, rep report) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, 0, 0, width, height, white)
	text(img, 20, 16, "OKTASSO: COST OF AN AUTHENTICATED REQUEST (NS, LOG SCALE, MEDIANS)", black)

	// Left: ns per request, log scale from 100 ns to 100 µs.
	x0, x1, y := 430, 770, 60
	lo, hi := 2.0, 5.0 // log10 bounds
	xOf := func(ns float64) int {
		l := math.Min(math.Max(math.Log10(ns), lo), hi)
		return x0 + int(float64(x1-x0)*(l-lo)/(hi-lo))
	}
	for e := lo; e <= hi; e++ {
		x := xOf(math.Pow(10, e))
		fill(img, x, y-4, 1, len(nsBars)*44, light)
		text(img, x-12, y+len(nsBars)*44, []string{"100", "1K", "10K", "100K"}[int(e-lo)], grey)
	}
	for _, b := range nsBars {
		st := stats[b.bench]
		if st == nil {
			continue
		}
		ns := median(st.ns)
		text(img, 20, y+8, b.label, black)
		fill(img, x0, y, xOf(ns)-x0, 28, b.c)
		text(img, xOf(ns)+6, y+8, num(ns), black)
		y += 44
	}

	// Right: the load test.
	if len(rep.Results) == 0 {
		return img
	}
	rx := 890
	text(img, rx, 60, fmt.Sprintf("LOAD TEST: %d CONNECTIONS, %s PER ROUTE", rep.Connections, strings.ToUpper(rep.Duration)), black)
	maxRPS := 0.0
	maxLat := 0.0
	for _, r := range rep.Results {
		maxRPS = math.Max(maxRPS, r.RPS)
		maxLat = math.Max(maxLat, r.P99Micros)
	}
	y = 96
	text(img, rx, y, "REQUESTS PER SECOND", grey)
	y += 24
	for _, r := range rep.Results {
		text(img, rx, y+8, strings.ToUpper(r.Path), black)
		w := int(240 * r.RPS / maxRPS)
		fill(img, rx+130, y, w, 28, blue)
		text(img, rx+136+w, y+8, num(r.RPS), black)
		y += 40
	}
	y += 16
	text(img, rx, y, "LATENCY P50 / P99 (MS)", grey)
	y += 24
	for _, r := range rep.Results {
		text(img, rx, y+12, strings.ToUpper(r.Path), black)
		w50 := int(240 * r.P50Micros / maxLat)
		w99 := int(240 * r.P99Micros / maxLat)
		fill(img, rx+130, y, max(w50, 1), 16, green)
		text(img, rx+136+w50, y+2, strconv.FormatFloat(r.P50Micros/1000, 'f', 1, 64), black)
		fill(img, rx+130, y+18, max(w99, 1), 16, orange)
		text(img, rx+136+w99, y+20, strconv.FormatFloat(r.P99Micros/1000, 'f', 1, 64), black)
		y += 48
	}
	if len(rep.Results) > 1 {
		y += 8
		for _, r := range rep.Results[1:] {
			text(img, rx, y, fmt.Sprintf("%s / %s: %.2f X", strings.ToUpper(r.Path), strings.ToUpper(rep.Results[0].Path), r.RPS/rep.Results[0].RPS), black)
			y += 22
		}
	}
	return img
}

func fill(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	for j := y; j < y+h; j++ {
		for i := x; i < x+w; i++ {
			img.SetRGBA(i, j, c)
		}
	}
}

// text draws s (upper case; unknown characters are blank) at x, y.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToUpper(s) {
		cols := glyphs[r]
		for i, col := range cols {
			for row := 0; row < 7; row++ {
				if col&(1<<row) != 0 {
					fill(img, x+i*scale, y+row*scale, scale, scale, c)
				}
			}
		}
		x += 6 * scale
	}
}

// glyphs is a 5×7 font: five columns per character, bit 0 the top row.
var glyphs = map[rune][5]byte{
	'0': {0x3E, 0x51, 0x49, 0x45, 0x3E}, '1': {0x00, 0x42, 0x7F, 0x40, 0x00}, '2': {0x42, 0x61, 0x51, 0x49, 0x46},
	'3': {0x21, 0x41, 0x45, 0x4B, 0x31}, '4': {0x18, 0x14, 0x12, 0x7F, 0x10}, '5': {0x27, 0x45, 0x45, 0x45, 0x39},
	'6': {0x3C, 0x4A, 0x49, 0x49, 0x30}, '7': {0x01, 0x71, 0x09, 0x05, 0x03}, '8': {0x36, 0x49, 0x49, 0x49, 0x36},
	'9': {0x06, 0x49, 0x49, 0x29, 0x1E}, 'A': {0x7E, 0x11, 0x11, 0x11, 0x7E}, 'B': {0x7F, 0x49, 0x49, 0x49, 0x36},
	'C': {0x3E, 0x41, 0x41, 0x41, 0x22}, 'D': {0x7F, 0x41, 0x41, 0x22, 0x1C}, 'E': {0x7F, 0x49, 0x49, 0x49, 0x41},
	'F': {0x7F, 0x09, 0x09, 0x09, 0x01}, 'G': {0x3E, 0x41, 0x49, 0x49, 0x7A}, 'H': {0x7F, 0x08, 0x08, 0x08, 0x7F},
	'I': {0x00, 0x41, 0x7F, 0x41, 0x00}, 'J': {0x20, 0x40, 0x41, 0x3F, 0x01}, 'K': {0x7F, 0x08, 0x14, 0x22, 0x41},
	'L': {0x7F, 0x40, 0x40, 0x40, 0x40}, 'M': {0x7F, 0x02, 0x0C, 0x02, 0x7F}, 'N': {0x7F, 0x04, 0x08, 0x10, 0x7F},
	'O': {0x3E, 0x41, 0x41, 0x41, 0x3E}, 'P': {0x7F, 0x09, 0x09, 0x09, 0x06}, 'Q': {0x3E, 0x41, 0x51, 0x21, 0x5E},
	'R': {0x7F, 0x09, 0x19, 0x29, 0x46}, 'S': {0x46, 0x49, 0x49, 0x49, 0x31}, 'T': {0x01, 0x01, 0x7F, 0x01, 0x01},
	'U': {0x3F, 0x40, 0x40, 0x40, 0x3F}, 'V': {0x1F, 0x20, 0x40, 0x20, 0x1F}, 'W': {0x3F, 0x40, 0x38, 0x40, 0x3F},
	'X': {0x63, 0x14, 0x08, 0x14, 0x63}, 'Y': {0x07, 0x08, 0x70, 0x08, 0x07}, 'Z': {0x61, 0x51, 0x49, 0x45, 0x43},
	'.': {0x00, 0x60, 0x60, 0x00, 0x00}, ',': {0x00, 0x50, 0x30, 0x00, 0x00}, ':': {0x00, 0x36, 0x36, 0x00, 0x00},
	'/': {0x20, 0x10, 0x08, 0x04, 0x02}, '(': {0x00, 0x1C, 0x22, 0x41, 0x00}, ')': {0x00, 0x41, 0x22, 0x1C, 0x00},
	'-': {0x08, 0x08, 0x08, 0x08, 0x08}, '+': {0x08, 0x08, 0x3E, 0x08, 0x08}, '%': {0x23, 0x13, 0x08, 0x64, 0x62},
	'=': {0x14, 0x14, 0x14, 0x14, 0x14}, '_': {0x40, 0x40, 0x40, 0x40, 0x40}, '*': {0x14, 0x08, 0x3E, 0x08, 0x14},
	'>': {0x00, 0x41, 0x22, 0x14, 0x08}, '<': {0x08, 0x14, 0x22, 0x41, 0x00},
}
