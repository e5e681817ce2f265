package oktatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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

// TestListUsersAtScale pages through 100,000 users, 200 at a time: every
// page is full, every user comes once and in id order, and a cursor deep in
// the list gives the last 200 users with no next link. How fast that goes
// is for BenchmarkListUsers and BenchmarkListUsersPage to say.
func TestListUsersAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 100,000 users")
	}
	s := scaleServer(t)
	var ids []string
	pages := 0
	for u := "/api/v1/users?limit=200"; u != ""; pages++ {
		if pages == 500 {
			t.Fatalf("the listing goes on after 500 pages, at %s", u)
		}
		page, next := listPage(t, s, u)
		if len(page) != 200 {
			t.Fatalf("page %d has %d users; want 200", pages+1, len(page))
		}
		ids = append(ids, page...)
		u = next
	}
	s.mu.Lock()
	want := slices.Clone(s.dir.userIDs.ids())
	s.mu.Unlock()
	if len(ids) != 100_000 || pages != 500 || !slices.Equal(ids, want) {
		t.Errorf("listed %d users in %d pages; want the 100,000 users in id order in 500", len(ids), pages)
	}

	// A cursor after the 99,800th user: the last page.
	page, next := listPage(t, s, "/api/v1/users?limit=200&after="+s.encodeCursor("/api/v1/users", want[100_000-201]))
	if !slices.Equal(page, want[100_000-200:]) || next != "" {
		t.Errorf("the page after user 99,800 has %d users and next link %q; want the last 200 and none", len(page), next)
	}
}

// listPage GETs one page of a listing and returns its ids and next link.
func listPage(t testing.TB, s *Server, path string) (ids []string, next string) {
	t.Helper()
	resp, body := apiGet(t, s, path, ssws())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
	}
	var page []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	for _, o := range page {
		ids = append(ids, o.ID)
	}
	return ids, links(t, resp)["next"]
}

// TestPageIDsReadsOnlyThePage: a page of 200 costs the same work at the
// start of 100,000 ids as at their end. The cursor is found by binary
// search, and then pageIDs looks at the page's ids and one more (to know
// whether a next page exists), never at the ids before the cursor.
func TestPageIDsReadsOnlyThePage(t *testing.T) {
	sorted := make([]string, 100_000)
	for i := range sorted {
		sorted[i] = fmt.Sprintf("00u%07d", i)
	}
	for _, tt := range []struct {
		name     string
		after    string
		wantPage []string
		wantMore bool
		wantRead int
	}{
		{"first page", "", sorted[:200], true, 201},
		{"middle", sorted[49_999], sorted[50_000:50_200], true, 201},
		{"last page", sorted[100_000-201], sorted[100_000-200:], false, 200},
		{"after the last", sorted[100_000-1], nil, false, 0},
		{"cursor between ids", sorted[500] + "x", sorted[501:701], true, 201},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := 0
			page, more := pageIDs(sorted, tt.after, 200, func(string) bool { read++; return true })
			if !slices.Equal(page, tt.wantPage) || more != tt.wantMore || read != tt.wantRead {
				t.Errorf("pageIDs(after %q) = %d ids, more %v, %d ids read; want %d, %v, %d",
					tt.after, len(page), more, read, len(tt.wantPage), tt.wantMore, tt.wantRead)
			}
		})
	}
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

// BenchmarkListUsersPage gets one page of 200 users over HTTP, the first
// and the last of 100,000: the two should cost about the same.
func BenchmarkListUsersPage(b *testing.B) {
	s := scaleServer(b)
	s.mu.Lock()
	last := s.dir.userIDs.ids()[100_000-201]
	s.mu.Unlock()
	for _, bb := range []struct{ name, path string }{
		{"first", "/api/v1/users?limit=200"},
		{"last", "/api/v1/users?limit=200&after=" + s.encodeCursor("/api/v1/users", last)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if page, _ := listPage(b, s, bb.path); len(page) != 200 {
					b.Fatalf("GET %s: %d users; want 200", bb.path, len(page))
				}
			}
		})
	}
}
