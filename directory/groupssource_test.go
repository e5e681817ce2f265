package directory

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// The client's UserGroups is an oktasso groups source.
var _ func(context.Context, string) ([]string, error) = (*Client)(nil).UserGroups

// TestGroupsFallbackAtSignIn signs in, through the fake Okta, a user in
// 150 groups whose groups claim is left out; the app reads the groups with
// a Client (API Services app, private_key_jwt, DPoP) as its GroupsSource
// and admits them to a route that needs the 150th group.
func TestGroupsFallbackAtSignIn(t *testing.T) {
	f := newFake(t)
	groups := []string{"Workspace Members"}
	for i := range 149 {
		groups = append(groups, "Project "+strconv.Itoa(i))
	}
	groups[149] = "Release Managers"
	f.srv.AddUser(oktatest.User{Login: "carol@example.com", Password: "p", FirstName: "Carol", Groups: groups})
	f.srv.AutoLogin("carol@example.com")
	dir := f.client(t, f.config())

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	f.srv.AddClient(oktatest.Client{ID: "web", Secret: "web-secret", RedirectURIs: []string{base + oktasso.CallbackPath}})
	auth, err := oktasso.New(t.Context(), oktasso.Config{
		Issuer:     f.srv.Issuer(),
		BaseURL:    base,
		HTTPClient: f.srv.Client(),
		Now:        f.clock.Now,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client:     oktasso.ClientConfig{ID: "web", Secret: "web-secret"},
		Session:    oktasso.SessionConfig{Storage: oktasso.SessionInStoreWhenLarge},
		Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members"), GroupsSource: dir.UserGroups, IgnoreGroupsClaim: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	release := auth.Require(oktasso.RequireGroups("Release Managers"))
	mux.Handle("/release", auth.Workspace(release(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "groups="+strconv.Itoa(len(oktasso.UserFrom(r.Context()).Groups)))
	}))))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/release")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// 150 groups and Everyone, read from the Management API.
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "groups=151" {
		t.Fatalf("GET /release = %d %q; want 200 groups=151", resp.StatusCode, body)
	}
}
