package main

import (
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
