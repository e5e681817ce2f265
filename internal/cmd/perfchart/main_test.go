package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseBench(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench.txt")
	os.WriteFile(path, []byte(`goos: linux
BenchmarkGuard/miss-2        	  379018	      2912 ns/op	    2304 B/op	       8 allocs/op
BenchmarkGuard/miss-2        	  379018	      3100 ns/op	    2304 B/op	       8 allocs/op
BenchmarkGuard/miss-2        	  379018	      2800 ns/op	    2304 B/op	       8 allocs/op
BenchmarkFloor/aesgcm-2      	 2470075	       433.3 ns/op	2919.56 MB/s	       0 B/op	       0 allocs/op
BenchmarkLoginRoundTrip-2    	     400	   2874897 ns/op	       347.8 logins/s	  175567 B/op	    1591 allocs/op
PASS
`), 0o644)
	stats, order := map[string]*stat{}, []string{}
	if err := parseBench(path, stats, &order); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		ns, b, allocs float64
		samples       int
	}{
		{"BenchmarkGuard/miss", 2912, 2304, 8, 3},
		{"BenchmarkFloor/aesgcm", 433.3, 0, 0, 1},
		{"BenchmarkLoginRoundTrip", 2874897, 175567, 1591, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stats[tt.name]
			if st == nil {
				t.Fatalf("%s not parsed; got %v", tt.name, order)
			}
			if len(st.ns) != tt.samples || median(st.ns) != tt.ns || median(st.b) != tt.b || median(st.allocs) != tt.allocs {
				t.Errorf("%s = %d samples, median %v ns %v B %v allocs; want %d, %v %v %v",
					tt.name, len(st.ns), median(st.ns), median(st.b), median(st.allocs), tt.samples, tt.ns, tt.b, tt.allocs)
			}
		})
	}
	if got := median(stats["BenchmarkLoginRoundTrip"].extra["logins/s"]); got != 347.8 {
		t.Errorf("logins/s = %v; want 347.8", got)
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{433.3, "433"}, {2.5, "2.5"}, {1234567, "1,234,567"}, {0, "0"}, {1000, "1,000"}}
	for _, tt := range tests {
		if got := num(tt.v); got != tt.want {
			t.Errorf("num(%v) = %q; want %q", tt.v, got, tt.want)
		}
	}
}
