package oktasso_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
)

// Example wires oktasso into a ServeMux and signs a user in against the fake
// Okta org from package oktatest.
func Example() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com") // skip the sign-in form

	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	okta.AddClient(oktatest.Client{
		ID: "0oaexample", Secret: "example-secret",
		RedirectURIs: []string{base + oktasso.CallbackPath},
	})

	auth, err := oktasso.New(context.Background(), oktasso.Config{
		Issuer: okta.Issuer(),
		// or Domain: "dev-123.okta.com"
		BaseURL:    base,
		HTTPClient: okta.Client(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Client:     oktasso.ClientConfig{ID: "0oaexample", Secret: "example-secret"},
		Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/workspace", auth.Workspace(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := oktasso.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s (internal=%v)", u.Email, u.Internal)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	// A browser: follows redirects and keeps cookies.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(app.URL + "/workspace")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello alice@example.com (internal=true)
}

// ExampleNew_invalidConfig shows how configuration problems are reported:
// all at once, each naming what to fix. (ConfigFromEnv does the same with
// the environment variables' names.)
func ExampleNew_invalidConfig() {
	_, err := oktasso.New(context.Background(), oktasso.Config{
		Domain:  "http://dev-123.okta.com",
		Session: oktasso.SessionConfig{Keys: []oktasso.Secret{"too short"}},
	})
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Println(strings.SplitN(line, ";", 2)[0])
	}
	// Output:
	// oktasso: Issuer: "http://dev-123.okta.com" uses http
	// oktasso: Client.ID: is empty
	// oktasso: Session.Keys: key 1 has 9 bytes, want at least 32
}

// ExampleUserFrom reads the signed-in user in a handler behind a guard.
func ExampleUserFrom() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := oktasso.UserFrom(r.Context())
		if u == nil {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s is in Engineering: %v", u.Name, slices.Contains(u.Groups, "Engineering"))
	})
	// Guards put the user in the context; tests can do it with WithUser.
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(oktasso.WithUser(req.Context(), &oktasso.User{Name: "Alice", Groups: []string{"Engineering"}}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: Alice is in Engineering: true
}

// ExampleSecret shows that secrets redact themselves when printed.
func ExampleSecret() {
	cfg := oktasso.Config{Client: oktasso.ClientConfig{Secret: "s3cr3t"}}
	fmt.Printf("%v %s\n", cfg.Client.Secret, cfg.Client.Secret)
	// Output: [redacted] [redacted]
}
