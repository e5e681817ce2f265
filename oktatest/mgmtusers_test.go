package oktatest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// scaleServer is a fake org with 100,000 users in 5,000 groups.
func scaleServer(t testing.TB) *Server {
	t.Helper()
	s := newAPIServer(t, nil)
	s.SetRateLimit(1_000_000, time.Minute)
	s.AddGeneratedGroups(5000)
	s.AddGeneratedUsers(100_000, 2)
	return s
}

func TestListUsersAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 100,000 users")
	}
	s := scaleServer(t)
	start := time.Now()
	ids, pages := listAll(t, s, "/api/v1/users?limit=200", ssws())
	elapsed := time.Since(start)
	t.Logf("listed %d users in %d pages in %v (%.0f pages/s)", len(ids), pages, elapsed, float64(pages)/elapsed.Seconds())
	if len(ids) != 100_000 || pages != 500 {
		t.Errorf("listed %d users in %d pages; want 100000 in 500", len(ids), pages)
	}
	if elapsed > 60*time.Second {
		t.Errorf("listing 100,000 users took %v", elapsed)
	}
	// The last page costs what the first one does: the cursor is found by
	// binary search, not by a scan.
	resp, _ := apiGet(t, s, "/api/v1/users?limit=1", ssws())
	deep := links(t, resp)["next"]
	s.mu.Lock()
	last := s.dir.userIDs.ids()[100_000-201]
	s.mu.Unlock()
	deep = strings.Replace(deep, "limit=1", "limit=200", 1)
	deep = deep[:strings.Index(deep, "after=")] + "after=" + s.encodeCursor("/api/v1/users", last) + "&limit=200"
	var firstT, lastT time.Duration
	for range 20 {
		firstT += timePage(t, s, "/api/v1/users?limit=200")
		lastT += timePage(t, s, deep)
	}
	t.Logf("first page %v, last page %v", firstT/20, lastT/20)
	if lastT > 5*firstT+100*time.Millisecond {
		t.Errorf("last page takes %v, first %v: paging is not O(page)", lastT/20, firstT/20)
	}
}

// timePage returns how long a GET of path takes.
func timePage(t testing.TB, s *Server, path string) time.Duration {
	t.Helper()
	start := time.Now()
	if resp, body := apiGet(t, s, path, ssws()); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	return time.Since(start)
}

// BenchmarkListUsers pages through 100,000 users, 200 per page, over HTTP;
// it reports pages/s.
func BenchmarkListUsers(b *testing.B) {
	s := scaleServer(b)
	listAll(b, s, "/api/v1/users?limit=200", ssws()) // sort the index
	b.ResetTimer()
	pages := 0
	for b.Loop() {
		_, n := listAll(b, s, "/api/v1/users?limit=200", ssws())
		pages += n
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}
