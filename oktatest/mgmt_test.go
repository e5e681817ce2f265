package oktatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAPIToken = "00test-api-token"

// testClock is a settable clock for Server.Now, safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newAPIServer starts a fake org that accepts the API token testAPIToken;
// clock may be nil for the real time.
func newAPIServer(t testing.TB, clock *testClock) *Server {
	t.Helper()
	s := NewUnstartedServer()
	if clock != nil {
		s.Now = clock.Now
	}
	s.Start()
	t.Cleanup(s.Close)
	s.AddAPIToken(testAPIToken)
	return s
}

func ssws() http.Header { return http.Header{"Authorization": {"SSWS " + testAPIToken}} }

// apiGet performs a GET of u (absolute, or a path on s) with header.
func apiGet(t testing.TB, s *Server, u string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = s.URL + u
	}
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// errorCode returns the errorCode of an Okta error body, checking its shape.
func errorCode(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
		Link    string `json:"errorLink"`
		ID      string `json:"errorId"`
		Causes  []any  `json:"errorCauses"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Summary == "" || e.Link != e.Code || !strings.HasPrefix(e.ID, "oae") || e.Causes == nil {
		t.Errorf("error body %s: not Okta's shape (%v)", body, err)
	}
	return e.Code
}

var linkRE = regexp.MustCompile(`<([^>]*)>;\s*rel="([a-z]+)"`)

// links parses the Link headers of resp, whatever their style, into
// rel → URL.
func links(t testing.TB, resp *http.Response) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, v := range resp.Header.Values("Link") {
		for _, l := range linkRE.FindAllStringSubmatch(v, -1) {
			if _, dup := m[l[2]]; dup {
				t.Errorf("two %q links in %q", l[2], resp.Header.Values("Link"))
			}
			m[l[2]] = l[1]
		}
	}
	return m
}

// listAll follows the next links from path and returns the ids of every
// object, checking that none repeats, and the number of pages.
func listAll(t testing.TB, s *Server, path string, header http.Header) (ids []string, pages int) {
	t.Helper()
	seen := map[string]bool{}
	for u := path; u != ""; pages++ {
		resp, body := apiGet(t, s, u, header)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", u, resp.StatusCode, body)
		}
		var page []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		for _, o := range page {
			if seen[o.ID] {
				t.Fatalf("GET %s: %s listed twice", u, o.ID)
			}
			seen[o.ID] = true
			ids = append(ids, o.ID)
		}
		l := links(t, resp)
		if l["self"] == "" {
			t.Errorf("GET %s: no self link in %q", u, resp.Header.Values("Link"))
		}
		u = l["next"]
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
	}
	return ids, pages
}

func TestListUsersPagination(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddGeneratedUsers(1050, 0)
	for _, combined := range []bool{false, true} {
		t.Run(fmt.Sprintf("combined=%v", combined), func(t *testing.T) {
			s.CombineLinkHeaders(combined)
			resp, _ := apiGet(t, s, "/api/v1/users?limit=200", ssws())
			if n := len(resp.Header.Values("Link")); (combined && n != 1) || (!combined && n != 2) {
				t.Errorf("first page has %d Link headers; want %d", n, map[bool]int{true: 1, false: 2}[combined])
			}
			ids, pages := listAll(t, s, "/api/v1/users?limit=200", ssws())
			if len(ids) != 1050 || pages != 6 {
				t.Errorf("listed %d users in %d pages; want 1050 in 6", len(ids), pages)
			}
			if !slices.IsSorted(ids) {
				t.Error("users not listed in id order")
			}
		})
	}
	ids, pages := listAll(t, s, "/api/v1/users", ssws())
	if len(ids) != 1050 || pages != 6 {
		t.Errorf("default limit: listed %d users in %d pages; want 1050 in 6", len(ids), pages)
	}
	resp, body := apiGet(t, s, "/api/v1/users?limit=1000", ssws())
	var page []any
	json.Unmarshal(body, &page)
	if len(page) != 200 || links(t, resp)["next"] == "" {
		t.Errorf("limit=1000 gave %d users; want 200 (the maximum) and a next link", len(page))
	}
}

func TestListParams(t *testing.T) {
	s := newAPIServer(t, nil)
	u := s.AddUser(User{Login: "a@example.com"})
	s.AddUser(User{Login: "b@example.com"})
	resp, _ := apiGet(t, s, "/api/v1/users?limit=1", ssws())
	next := links(t, resp)["next"]
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"cursor from the server", next, 200, ""},
		{"cursor built from an id", "/api/v1/users?after=" + u.ID, 400, "E0000001"},
		{"cursor of another list", strings.Replace(next, "/api/v1/users", "/api/v1/groups", 1), 400, "E0000001"},
		{"limit not a number", "/api/v1/users?limit=ten", 400, "E0000001"},
		{"limit zero", "/api/v1/users?limit=0", 400, "E0000001"},
		{"bad filter", "/api/v1/users?filter=" + url.QueryEscape(`status eq ACTIVE`), 400, "E0000031"},
		{"unknown attribute", "/api/v1/users?search=" + url.QueryEscape(`profile.nickName eq "x"`), 400, "E0000031"},
		{"unknown path", "/api/v1/apps", 404, "E0000007"},
		{"unknown user", "/api/v1/users/00unope", 404, "E0000007"},
		{"unknown group", "/api/v1/groups/00gnope/users", 404, "E0000007"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := apiGet(t, s, tt.path, ssws())
			if resp.StatusCode != tt.status {
				t.Fatalf("GET %s = %d %s; want %d", tt.path, resp.StatusCode, body, tt.status)
			}
			if tt.code != "" {
				if got := errorCode(t, body); got != tt.code {
					t.Errorf("GET %s errorCode = %s; want %s", tt.path, got, tt.code)
				}
			}
		})
	}
}

func TestListUsersDeprovisioned(t *testing.T) {
	s := newAPIServer(t, nil)
	active := s.AddUser(User{Login: "active@example.com"})
	gone := s.AddUser(User{Login: "gone@example.com", Status: "DEPROVISIONED"})
	suspended := s.AddUser(User{Login: "suspended@example.com"})
	s.SetUserStatus(suspended.ID, "SUSPENDED")
	tests := []struct {
		name, query string
		want        []string
	}{
		{"no filter hides DEPROVISIONED", "", []string{active.ID, suspended.ID}},
		{"any filter shows them", "?filter=" + url.QueryEscape(`lastUpdated gt "2000-01-01T00:00:00.000Z"`), []string{active.ID, gone.ID, suspended.ID}},
		{"status filter", "?filter=" + url.QueryEscape(`status eq "DEPROVISIONED"`), []string{gone.ID}},
		{"any search shows them", "?search=" + url.QueryEscape(`profile.login sw "g"`), []string{gone.ID}},
		{"q hides them", "?q=g", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, _ := listAll(t, s, "/api/v1/users"+tt.query, ssws())
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ids, want) {
				t.Errorf("GET /api/v1/users%s = %v; want %v", tt.query, ids, want)
			}
		})
	}
	resp, _ := apiGet(t, s, "/api/v1/users/"+gone.ID, ssws())
	if resp.StatusCode != 200 {
		t.Errorf("GET a DEPROVISIONED user by id = %d; want 200", resp.StatusCode)
	}
}

func TestUserFilters(t *testing.T) {
	clock := newTestClock()
	s := newAPIServer(t, clock)
	old := s.AddUser(User{Login: "old@example.com", FirstName: "Olga"})
	clock.Add(time.Hour)
	mark := clock.Now()
	clock.Add(time.Second)
	updated := s.AddUser(User{Login: "New@Example.com", FirstName: "Nina"})
	staged := s.AddUser(User{Login: "staged@example.com", Status: "STAGED"})
	clock.Add(time.Second)
	s.UpdateUser(User{ID: old.ID, Login: old.Login, FirstName: "Olga", LastName: "Renamed"})
	since := oktaTime(mark)
	tests := []struct {
		name, param, expr string
		want              []string
	}{
		{"lastUpdated gt", "filter", `lastUpdated gt "` + since + `"`, []string{old.ID, updated.ID, staged.ID}},
		{"lastUpdated gt, later", "filter", `lastUpdated gt "` + oktaTime(mark.Add(time.Second)) + `"`, []string{old.ID}},
		{"status eq", "filter", `status eq "STAGED"`, []string{staged.ID}},
		{"login eq ignores case", "filter", `profile.login eq "new@example.com"`, []string{updated.ID}},
		{"and", "search", `status eq "ACTIVE" and lastUpdated gt "` + since + `"`, []string{old.ID, updated.ID}},
		{"or with parentheses", "search", `(profile.firstName eq "Nina" or profile.lastName eq "Renamed") and status eq "ACTIVE"`, []string{old.ID, updated.ID}},
		{"sw", "search", `profile.email sw "STAGED"`, []string{staged.ID}},
		{"id eq", "search", `id eq "` + staged.ID + `"`, []string{staged.ID}},
		{"lt", "filter", `created lt "` + since + `"`, []string{old.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, _ := listAll(t, s, "/api/v1/users?limit=1&"+tt.param+"="+url.QueryEscape(tt.expr), ssws())
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ids, want) {
				t.Errorf("%s=%s: %v; want %v", tt.param, tt.expr, ids, want)
			}
		})
	}
}

func TestUserJSON(t *testing.T) {
	clock := newTestClock()
	s := newAPIServer(t, clock)
	u := s.AddUser(User{Login: "carol@example.com", Email: "carol@mail.example", FirstName: "Carol", LastName: "Example", Password: "pw"})
	for _, path := range []string{"/api/v1/users/" + u.ID, "/api/v1/users/CAROL@example.com"} {
		resp, body := apiGet(t, s, path, ssws())
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
		}
		var got struct {
			ID, Status, Created, LastUpdated string
			Profile                          map[string]any
		}
		json.Unmarshal(body, &got)
		want := "2026-03-01T12:00:00.000Z"
		if got.ID != u.ID || got.Status != "ACTIVE" || got.Created != want || got.LastUpdated != want ||
			got.Profile["login"] != "carol@example.com" || got.Profile["email"] != "carol@mail.example" ||
			got.Profile["firstName"] != "Carol" || got.Profile["lastName"] != "Example" {
			t.Errorf("GET %s = %s", path, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
}

func TestGroupEndpoints(t *testing.T) {
	clock := newTestClock()
	s := newAPIServer(t, clock)
	eng := s.AddGroup(Group{Name: "Engineering", Description: "Builders"})
	ad := s.AddGroup(Group{Name: "CN=Finance", Type: "APP_GROUP"})
	alice := s.AddUser(User{Login: "alice@example.com", Groups: []string{"Engineering"}})
	bob := s.AddUser(User{Login: "bob@example.com"})
	clock.Add(time.Minute)
	mark := oktaTime(clock.Now())
	clock.Add(time.Second)
	s.AddMember(ad.ID, bob.ID)
	everyone, _ := s.LookupGroup("Everyone")

	t.Run("list and filters", func(t *testing.T) {
		tests := []struct {
			query string
			want  []string
		}{
			{"", []string{everyone.ID, eng.ID, ad.ID}},
			{"?filter=" + url.QueryEscape(`type eq "APP_GROUP"`), []string{ad.ID}},
			{"?filter=" + url.QueryEscape(`type eq "BUILT_IN"`), []string{everyone.ID}},
			{"?filter=" + url.QueryEscape(`lastMembershipUpdated gt "`+mark+`"`), []string{ad.ID}},
			{"?filter=" + url.QueryEscape(`lastUpdated gt "`+mark+`"`), nil},
			{"?filter=" + url.QueryEscape(`lastUpdated gt "`+mark+`" or lastMembershipUpdated gt "`+mark+`"`), []string{ad.ID}},
			{"?q=eng", []string{eng.ID}},
		}
		for _, tt := range tests {
			ids, _ := listAll(t, s, "/api/v1/groups?limit=1"+strings.Replace(tt.query, "?", "&", 1), ssws())
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(ids, want) {
				t.Errorf("GET /api/v1/groups%s = %v; want %v", tt.query, ids, want)
			}
		}
	})
	t.Run("group JSON", func(t *testing.T) {
		_, body := apiGet(t, s, "/api/v1/groups/"+eng.ID, ssws())
		var g struct {
			ID, Type, LastMembershipUpdated string
			Profile                         map[string]string
		}
		json.Unmarshal(body, &g)
		if g.ID != eng.ID || g.Type != "OKTA_GROUP" || g.Profile["name"] != "Engineering" || g.Profile["description"] != "Builders" || g.LastMembershipUpdated == "" {
			t.Errorf("GET group = %s", body)
		}
	})
	t.Run("members", func(t *testing.T) {
		tests := []struct {
			group string
			want  []string
		}{
			{eng.ID, []string{alice.ID}},
			{ad.ID, []string{bob.ID}},
			{everyone.ID, []string{alice.ID, bob.ID}},
		}
		for _, tt := range tests {
			ids, _ := listAll(t, s, "/api/v1/groups/"+tt.group+"/users?limit=1", ssws())
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(ids, want) {
				t.Errorf("members of %s = %v; want %v", tt.group, ids, want)
			}
		}
	})
	t.Run("user groups", func(t *testing.T) {
		tests := []struct {
			user string
			want []string
		}{
			{alice.ID, []string{everyone.ID, eng.ID}},
			{bob.Login, []string{everyone.ID, ad.ID}},
		}
		for _, tt := range tests {
			ids, pages := listAll(t, s, "/api/v1/users/"+tt.user+"/groups", ssws())
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(ids, want) || pages != 1 {
				t.Errorf("groups of %s = %v in %d pages; want %v in 1", tt.user, ids, pages, want)
			}
			ids, pages = listAll(t, s, "/api/v1/users/"+tt.user+"/groups?limit=1", ssws())
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(tt.want)); !slices.Equal(ids, want) || pages != 2 {
				t.Errorf("groups of %s with limit=1 = %v in %d pages; want %v in 2", tt.user, ids, pages, want)
			}
		}
	})
	t.Run("removal", func(t *testing.T) {
		before, _ := s.LookupGroup(eng.ID)
		clock.Add(time.Second)
		s.RemoveMember(eng.ID, alice.ID)
		after, _ := s.LookupGroup(eng.ID)
		if !after.LastMembershipUpdated.After(before.LastMembershipUpdated) {
			t.Errorf("RemoveMember did not move LastMembershipUpdated: %v → %v", before.LastMembershipUpdated, after.LastMembershipUpdated)
		}
		ids, _ := listAll(t, s, "/api/v1/groups/"+eng.ID+"/users", ssws())
		if len(ids) != 0 {
			t.Errorf("members after RemoveMember = %v; want none", ids)
		}
	})
}

func TestAPIConcurrentUse(t *testing.T) {
	s := newAPIServer(t, nil)
	s.AddGeneratedGroups(10)
	s.AddGeneratedUsers(500, 2)
	g := s.AddGroup(Group{Name: "Churn"})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 25 {
				u := s.AddUser(User{Login: fmt.Sprintf("c%d-%d@example.com", i, j), Groups: []string{"Churn"}})
				s.SetUserStatus(u.ID, "SUSPENDED")
				s.RemoveMember(g.ID, u.ID)
				if j%2 == 0 {
					s.DeleteUser(u.ID)
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				listAll(t, s, "/api/v1/users?limit=100", ssws())
				listAll(t, s, "/api/v1/groups/"+g.ID+"/users?limit=10", ssws())
				listAll(t, s, "/api/v1/groups?limit=3&filter="+url.QueryEscape(`type eq "OKTA_GROUP"`), ssws())
			}
		})
	}
	wg.Wait()
	ids, _ := listAll(t, s, "/api/v1/users", ssws())
	if len(ids) != 548 { // 500 + 100 added - 52 deleted
		t.Errorf("listed %d users after the churn; want 548", len(ids))
	}
}
