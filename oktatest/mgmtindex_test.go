package oktatest

import (
	"slices"
	"strings"
	"testing"
)

func TestIDIndex(t *testing.T) {
	var x idIndex
	for _, id := range []string{"d", "b"} {
		x.add(id)
	}
	if got := x.ids(); !slices.Equal(got, []string{"b", "d"}) {
		t.Fatalf("ids() = %v", got)
	}
	for _, id := range []string{"e", "a", "c"} {
		x.add(id)
	}
	x.remove("d")
	x.remove("zz")
	if got, n := x.ids(), x.len(); !slices.Equal(got, []string{"a", "b", "c", "e"}) || n != 4 {
		t.Fatalf("ids() = %v, len %d; want [a b c e], 4", got, n)
	}
	odd := func(id string) bool { return id != "b" }
	tests := []struct {
		after    string
		limit    int
		keep     func(string) bool
		want     []string
		wantMore bool
	}{
		{"", 2, nil, []string{"a", "b"}, true},
		{"b", 2, nil, []string{"c", "e"}, false},
		{"bb", 1, nil, []string{"c"}, true},
		{"e", 2, nil, nil, false},
		{"", 2, odd, []string{"a", "c"}, true},
		{"", 3, odd, []string{"a", "c", "e"}, false},
	}
	for _, tt := range tests {
		got, more := pageIDs(x.ids(), tt.after, tt.limit, tt.keep)
		if !slices.Equal(got, tt.want) || more != tt.wantMore {
			t.Errorf("pageIDs(after %q, limit %d) = %v, %v; want %v, %v", tt.after, tt.limit, got, more, tt.want, tt.wantMore)
		}
	}
}

func TestCursor(t *testing.T) {
	s := NewUnstartedServer()
	defer s.Close()
	c := s.encodeCursor("/api/v1/users", "00uabc")
	if strings.Contains(c, "00uabc") {
		t.Errorf("cursor %q shows the id", c)
	}
	tests := []struct {
		name, path, cursor string
		ok                 bool
	}{
		{"round trip", "/api/v1/users", c, true},
		{"other path", "/api/v1/groups", c, false},
		{"bare id", "/api/v1/users", "00uabc", false},
		{"tampered", "/api/v1/users", "A" + c, false},
		{"other server", "/api/v1/users", NewUnstartedServer().encodeCursor("/api/v1/users", "00uabc"), false},
	}
	for _, tt := range tests {
		id, ok := s.decodeCursor(tt.path, tt.cursor)
		if ok != tt.ok || (ok && id != "00uabc") {
			t.Errorf("%s: decodeCursor = %q, %v; want ok %v", tt.name, id, ok, tt.ok)
		}
	}
}
