package tenants_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/tenants"
)

// Example serves two Okta orgs from one application, one per path
// prefix: /t/acme signs in at Acme's org, /t/globex at Globex's. One
// browser holds a session for each; an unknown tenant is a 404.
func Example() {
	orgs := map[string]*oktatest.Server{"acme": oktatest.NewServer(), "globex": oktatest.NewServer()}
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	for id, org := range orgs {
		defer org.Close()
		org.AddDemoUsers()
		org.AddClient(oktatest.Client{ID: "0oa" + id, Secret: "secret-" + id, RedirectURIs: []string{base + "/t/" + id + oktasso.CallbackPath}})
	}
	orgs["acme"].AutoLogin("alice@example.com")
	orgs["globex"].AutoLogin("bob@partner.example")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	router, err := tenants.New(tenants.Config{
		Select: tenants.ByPathPrefix("/t/"),
		Lookup: func(ctx context.Context, id string) (oktasso.Config, error) {
			org, ok := orgs[id] // in a real app: the tenant's row in your database
			if !ok {
				return oktasso.Config{}, tenants.ErrUnknown
			}
			return oktasso.Config{
				Issuer:     org.Issuer(),
				BaseURL:    base + "/t/" + id,
				HTTPClient: org.Client(),
				Logger:     quiet,
				Client:     oktasso.ClientConfig{ID: "0oa" + id, Secret: oktasso.Secret("secret-" + id)},
			}, nil
		},
		SessionKeys: []oktasso.Secret{oktasso.Secret(strings.Repeat("example key, use a random one! ", 2))},
		Logger:      quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/t/{tenant}/auth/", router.Handler())
	mux.Handle("/t/{tenant}/webapp", router.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The tenant's base path is removed: r.URL.Path is "/webapp".
		fmt.Fprintf(w, "%s: %s at %s", tenants.IDFrom(r.Context()), oktasso.UserFrom(r.Context()).Email, r.URL.Path)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	browser := newBrowser()
	for _, path := range []string{"/t/acme/webapp", "/t/globex/webapp", "/t/acme/webapp", "/t/initech/webapp"} {
		visit(browser, app.URL+path)
	}
	// Output:
	// 200 acme: alice@example.com at /webapp
	// 200 globex: bob@partner.example at /webapp
	// 200 acme: alice@example.com at /webapp
	// 404 404 page not found
}

// newBrowser returns a client that keeps cookies and follows redirects,
// like a browser.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// visit GETs u with browser and prints the final status and body.
func visit(browser *http.Client, u string) {
	resp, err := browser.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
}
