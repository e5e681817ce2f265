package oktasso_test

// The examples in this file carry the Go blocks of README.md and
// docs/GUIDE.md, line for line, so that those compile against the current
// API and run; reference_test.go checks that every block is here.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"log"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/oktatest"
	"github.com/oktasso/oktasso/plainoauth"
	"github.com/oktasso/oktasso/store"
	"github.com/oktasso/oktasso/tenants"
)

// ExampleConfigFromEnv is the README's smallest wiring: the configuration
// comes from the environment (here pointing at the fake Okta).
func ExampleConfigFromEnv() {
	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com")
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	okta.AddClient(oktatest.Client{ID: "0oaexample", Secret: "example-secret", RedirectURIs: []string{base + oktasso.CallbackPath}})
	defer setenv(map[string]string{
		"OKTA_ISSUER":              okta.Issuer(), // OKTA_DOMAIN for a real org
		"OKTA_CLIENT_ID":           "0oaexample",
		"OKTA_CLIENT_SECRET":       "example-secret",
		"OKTASSO_BASE_URL":         base,
		"OKTASSO_SESSION_KEYS":     "YS1zZXNzaW9uLWtleS1mb3ItdGhlLWV4YW1wbGUtMzJiISE=",
		"OKTASSO_WORKSPACE_GROUPS": "Workspace Members",
	})()
	defer quietDefaultLogger()()
	ctx := context.Background()
	console, apps, landing := hello("console"), hello("apps"), hello("landing")

	cfg, err := oktasso.ConfigFromEnv() // OKTA_DOMAIN, OKTA_CLIENT_ID, … (docs/REFERENCE.md)
	if err != nil {
		log.Fatal(err) // every problem at once, each naming its variable
	}
	auth, err := oktasso.New(ctx, cfg) // does not wait for Okta: the app starts while Okta is down
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())               // sign-in, callback, sign-out
	mux.Handle("/workspace/", auth.Workspace(console)) // internal members only
	mux.Handle("/webapp/", auth.WebApp(apps))          // every signed-in user the policy admits
	mux.Handle("/{$}", auth.Identify(landing))         // knows the user if signed in, never refuses

	app.Config.Handler = mux
	app.Start()
	defer app.Close()
	browser := newDocsBrowser()
	fmt.Println(get(browser, app.URL+"/"))
	fmt.Println(get(browser, app.URL+"/workspace/"))
	fmt.Println(get(browser, app.URL+"/"))
	// Output:
	// 200 landing: anonymous
	// 200 console: alice@example.com (internal=true)
	// 200 landing: alice@example.com (internal=true)
}

// Example_policies decides access with policies per scope and per route.
func Example_policies() {
	var plans planTable // alice is on the free plan
	billingPage := hello("billing")
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		cfg.Access.WebApp = oktasso.RequireEmailVerified()
		cfg.Access.Workspace = oktasso.AnyOf(
			oktasso.RequireGroups("Admins", "Support"), // any of these groups (exact names)
			oktasso.RequireClaim("department", "R&D"),  // a claim equal to, or a list containing, a value
		)
	}, func(auth *oktasso.Auth, mux *http.ServeMux) {
		billing := auth.Require(
			oktasso.RequireGroups("Finance"), oktasso.RequireGroups("Managers"), // both groups
			oktasso.RequireEmailDomains("example.com"), // exact: not evilexample.com, not sub.example.com
			oktasso.RequireFunc("a paid plan", func(r *http.Request, u *oktasso.User) bool { return plans.Paid(u.LocalID) }),
		)
		mux.Handle("/workspace/billing", auth.Workspace(billing(billingPage)))
	})
	defer done()
	fmt.Println(get(browser, url+"/workspace/billing")[:3])
	// Output: 403
}

// Example_members admits to the workspace the people of the application's
// own member table.
func Example_members() {
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		members := memberTable{issuer: cfg.Issuer}
		cfg.Access.Workspace = oktasso.RequireMember("membership of this workspace", func(ctx context.Context, u *oktasso.User) (bool, error) {
			return members.Exists(ctx, u.Issuer, u.Subject)
		})
	}, nil)
	defer done()
	fmt.Println(get(browser, url+"/workspace"))
	// Output: 200 workspace: alice@example.com (internal=true)
}

// Example_onLogin creates the local account at the first sign-in.
func Example_onLogin() {
	accounts := &accountTable{}
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		cfg.Hooks.OnLogin = func(ctx context.Context, u *oktasso.User, _ *oauth2.Token) error {
			id, err := accounts.Upsert(ctx, u.Issuer, u.Subject, u.Email, u.Name)
			if err != nil {
				return err // a 500 page; return &oktasso.Error{Code: "access_denied", Description: "…"} to refuse
			}
			u.LocalID = id
			return nil
		}
	}, func(auth *oktasso.Auth, mux *http.ServeMux) {
		mux.Handle("/account", auth.WebApp(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "account ", oktasso.UserFrom(r.Context()).LocalID)
		})))
	})
	defer done()
	fmt.Println(get(browser, url+"/account"))
	// Output: 200 account acct-1
}

// Example_groupsAtScale reads groups from Access.GroupsSource rather than the ID
// token, and keeps sessions too large for cookies in the Store.
func Example_groupsAtScale() {
	dir := groupDirectory{"Workspace Members", "Engineering"}
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		cfg.Access.IgnoreGroupsClaim = true
		cfg.Access.GroupsSource = dir.UserGroups              // any func(ctx, userID) ([]string, error)
		cfg.Session.Storage = oktasso.SessionInStoreWhenLarge // hundreds of groups do not fit in cookies
	}, nil)
	defer done()
	fmt.Println(get(browser, url+"/workspace"))
	// Output: 200 workspace: alice@example.com (internal=true)
}

// Example_stepUp asks for a recent second factor before a sensitive page.
func Example_stepUp() {
	keysPage := hello("keys")
	url, browser, done := docsApp(nil, func(auth *oktasso.Auth, mux *http.ServeMux) {
		mfa := auth.RequireStepUp(oktasso.RequireAMR("mfa"), oktasso.MaxAge(10*time.Minute))
		mux.Handle("/workspace/keys", auth.Workspace(mfa(keysPage)))
	})
	defer done()
	fmt.Println(get(browser, url+"/workspace/keys"))
	// Output: 200 keys: alice@example.com (internal=true)
}

// ExampleAuth_NewPurpose verifies the user again for an MFA record, without
// touching their session.
func ExampleAuth_NewPurpose() {
	mfaLog := &mfaRecords{}
	url, browser, done := docsApp(nil, func(auth *oktasso.Auth, mux *http.ServeMux) {
		p, err := auth.NewPurpose("mfa", "", func(ctx context.Context, u *oktasso.User) error {
			return mfaLog.Record(ctx, u.Subject, u.AuthTime, u.AMR) // nil: back to return_to
		}) // callback: /auth/callback/mfa, served by auth.Handler()
		if err != nil {
			log.Fatal(err)
		}
		mux.HandleFunc("/verify", func(w http.ResponseWriter, r *http.Request) {
			p.Start(w, r, "/workspace", oktasso.Prompt("login"), oktasso.ACRValues("urn:okta:loa:2fa:any"), oktasso.RequireAMR("mfa"))
		})
	})
	defer done()
	fmt.Println(get(browser, url+"/verify"))
	fmt.Println(mfaLog.amr)
	// Output:
	// 200 workspace: alice@example.com (internal=true)
	// [pwd mfa]
}

// ExampleEnrollAuthenticator has the signed-in user enroll Okta Verify
// through a purpose of its own.
func ExampleEnrollAuthenticator() {
	security := &enrollments{}
	url, browser, done := docsApp(nil, func(auth *oktasso.Auth, mux *http.ServeMux) {
		enroll, err := auth.NewPurpose("enroll", "", func(ctx context.Context, u *oktasso.User) error {
			return security.Enrolled(ctx, u.Subject) // the signed-in user: Okta sends no token back
		}) // callback: /auth/callback/enroll; register enroll.RedirectURL() in Okta
		if err != nil {
			log.Fatal(err)
		}
		mux.HandleFunc("/security/enroll", func(w http.ResponseWriter, r *http.Request) {
			enroll.Start(w, r, "/security", oktasso.EnrollAuthenticator("okta_verify"))
		})
	})
	defer done()
	get(browser, url+"/workspace") // signs alice in
	q := authorizeQuery(browser, url+"/security/enroll")
	fmt.Println(q.Get("prompt"), q.Get("enroll_amr_values"), q.Get("max_age"), q.Get("response_type"), q.Get("login_hint"))
	// Output: enroll_authenticator okta_verify 0 none alice@example.com
}

// ExampleIdP sends the sign-in straight to a partner's identity provider.
func ExampleIdP() {
	url, browser, done := docsApp(nil, func(auth *oktasso.Auth, mux *http.ServeMux) {
		mux.HandleFunc("/login/partner", func(w http.ResponseWriter, r *http.Request) {
			auth.StartLogin(w, r, "/webapp", oktasso.IdP("0oa8partneridp00x4h7"))
		})
	})
	defer done()
	q := authorizeQuery(browser, url+"/login/partner")
	fmt.Println(q.Get("idp"), q.Get("response_type"))
	// Output: 0oa8partneridp00x4h7 code
}

// authorizeQuery returns the query of the authorization request that a GET
// of page redirects to.
func authorizeQuery(browser *http.Client, page string) neturl.Values {
	c := *browser
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(page)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		log.Fatal(err)
	}
	return loc.Query()
}

type enrollments struct {
	mu       sync.Mutex
	subjects []string
}

func (e *enrollments) Enrolled(ctx context.Context, subject string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.subjects = append(e.subjects, subject)
	return nil
}

// Example_metrics counts audit events by name and reason.
func Example_metrics() {
	counter := &eventCounter{}
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		cfg.Hooks.OnEvent = func(e audit.Event) { counter.WithLabelValues(e.Name, string(e.Reason)).Inc() }
	}, nil)
	defer done()
	get(browser, url+"/workspace")
	fmt.Println(counter.n["login ok"])
	// Output: 1
}

// ExampleDefaultPages restyles the pages oktasso renders.
func ExampleDefaultPages() {
	url, browser, done := docsApp(func(cfg *oktasso.Config) {
		pages := oktasso.DefaultPages()
		template.Must(pages.New("oktasso-style").Parse(`body{font-family:Inter,sans-serif} main{max-width:40rem}`))
		cfg.Pages = pages
	}, nil)
	defer done()
	fmt.Println(strings.Contains(get(browser, url+oktasso.LogoutPath), "font-family:Inter"))
	// Output: true
}

// Example_plainOAuth2 configures GitHub, a plain OAuth 2.0 provider, with
// package plainoauth's ready-made value, and checks that the same provider
// entered by hand is that value.
func Example_plainOAuth2() {
	cfg := oktasso.Config{Client: oktasso.ClientConfig{ID: "Iv1.example", Secret: "example-secret"}}
	cfg.OAuth2 = plainoauth.GitHub()
	eff, err := cfg.Normalize()
	fmt.Println(eff.Issuer, eff.Scopes, err)

	cfg.OAuth2 = &plainoauth.Provider{
		Identity:    "https://github.com", // becomes User.Issuer: link accounts by (Issuer, Subject)
		AuthURL:     "https://github.com/login/oauth/authorize",
		TokenURL:    "https://github.com/login/oauth/access_token",
		UserInfoURL: "https://api.github.com/user",
		Scopes:      []string{"read:user", "user:email"},
		Mapping:     plainoauth.Mapping{Subject: "id", Username: "login"}, // others: email, name, groups
	}
	fmt.Println(reflect.DeepEqual(cfg.OAuth2, plainoauth.GitHub()))
	// Output:
	// https://github.com [read:user user:email] <nil>
	// true
}

// Example_tenants serves several Okta orgs from one application, one per
// path prefix.
func Example_tenants() {
	okta := oktatest.NewServer()
	defer okta.Close()
	db := tenantTable{"acme": {Issuer: okta.Issuer(), ClientID: "0oaacme", Secret: "acme-secret"}}
	keys := []oktasso.Secret{"a-session-key-of-at-least-32-bytes!"}
	sessionStore := store.NewMemory(nil) // with several instances: a redisstore.Store
	console := hello("console")
	mux := http.NewServeMux()

	router, err := tenants.New(tenants.Config{
		Select: tenants.ByPathPrefix("/t/"), // or tenants.ByHost(map[string]string{"acme.example.com": "acme"}),
		// or nil: the id your middleware set with tenants.WithID
		Lookup: func(ctx context.Context, id string) (oktasso.Config, error) {
			t, err := db.Tenant(ctx, id)
			if errors.Is(err, sql.ErrNoRows) {
				return oktasso.Config{}, tenants.ErrUnknown // 404
			} else if err != nil {
				return oktasso.Config{}, err // 500, looked up again on the next request
			}
			return oktasso.Config{Issuer: t.Issuer, BaseURL: "https://app.example.com/t/" + id,
				Client: oktasso.ClientConfig{ID: t.ClientID, Secret: oktasso.Secret(t.Secret)}}, nil
		},
		SessionKeys: keys,         // for tenants without their own
		Store:       sessionStore, // shared, so ended sessions stay ended
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/t/{tenant}/auth/", router.Handler())
	mux.Handle("/t/{tenant}/workspace/", router.Workspace(console)) // tenants.IDFrom(ctx) names the tenant

	for _, path := range []string{"/t/acme/workspace/", "/t/nobody/workspace/"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com"+path, nil))
		loc, _, _ := strings.Cut(rec.Header().Get("Location"), "?")
		fmt.Println(rec.Code, loc)
	}
	// Output:
	// 302 https://app.example.com/t/acme/auth/login
	// 404
}

// Example_oktatest starts the fake Okta org for an application's tests.
func Example_oktatest() {
	appURL := "http://127.0.0.1:8080"

	okta := oktatest.NewServer()
	defer okta.Close()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com") // or leave the form on
	okta.AddClient(oktatest.Client{ID: "app", Secret: "s", RedirectURIs: []string{appURL + "/auth/callback"}})
	// point the app at okta.Issuer() with okta.Client() as its HTTP client

	fmt.Println(strings.HasPrefix(okta.Issuer(), "http://127.0.0.1:"))
	// Output: true
}

// docsApp starts the fake Okta and an application configured by configure
// (may be nil; the workspace admits "Workspace Members" unless it says
// otherwise), serving "/workspace" and "/webapp" plus the routes that routes
// adds (may be nil). browser follows redirects and signs in as alice.
func docsApp(configure func(cfg *oktasso.Config), routes func(auth *oktasso.Auth, mux *http.ServeMux)) (url string, browser *http.Client, done func()) {
	okta := oktatest.NewServer()
	okta.AddDemoUsers()
	okta.AutoLogin("alice@example.com")
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	okta.AddClient(oktatest.Client{ID: "0oaexample", Secret: "example-secret",
		RedirectURIs: []string{base + oktasso.CallbackPath, base + oktasso.CallbackPath + "/mfa"}})
	cfg := oktasso.Config{
		Issuer:     okta.Issuer(),
		BaseURL:    base,
		HTTPClient: okta.Client(),
		Logger:     slog.New(slog.DiscardHandler),
		Client:     oktasso.ClientConfig{ID: "0oaexample", Secret: "example-secret"},
		Access:     oktasso.AccessConfig{Workspace: oktasso.RequireGroups("Workspace Members")},
	}
	if configure != nil {
		configure(&cfg)
	}
	auth, err := oktasso.New(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.Handle("/workspace", auth.Workspace(hello("workspace")))
	mux.Handle("/webapp", auth.WebApp(hello("webapp")))
	if routes != nil {
		routes(auth, mux)
	}
	app.Config.Handler = mux
	app.Start()
	return app.URL, newDocsBrowser(), func() { app.Close(); okta.Close() }
}

func newDocsBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// hello is a page that names itself and the signed-in user.
func hello(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := oktasso.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, "%s: %s (internal=%v)", name, u.Email, u.Internal)
			return
		}
		fmt.Fprintf(w, "%s: anonymous", name)
	})
}

// setenv sets the variables and returns a function that restores them.
func setenv(vars map[string]string) (restore func()) {
	var undo []func()
	for k, v := range vars {
		if old, ok := os.LookupEnv(k); ok {
			undo = append(undo, func() { os.Setenv(k, old) })
		} else {
			undo = append(undo, func() { os.Unsetenv(k) })
		}
		os.Setenv(k, v)
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// quietDefaultLogger silences slog.Default (which a Config from the
// environment logs to) and returns a function that restores it.
func quietDefaultLogger() (restore func()) {
	old, w, flags := slog.Default(), log.Writer(), log.Flags()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	return func() {
		slog.SetDefault(old)
		log.SetOutput(w)
		log.SetFlags(flags)
	}
}

// The application's own types that the examples use.

type planTable map[string]bool

func (p planTable) Paid(accountID string) bool { return p[accountID] }

// memberTable has every user of one issuer; a real one looks the pair up.
type memberTable struct{ issuer string }

func (m memberTable) Exists(ctx context.Context, issuer, subject string) (bool, error) {
	return issuer == m.issuer && subject != "", nil
}

type accountTable struct {
	mu sync.Mutex
	n  int
}

func (a *accountTable) Upsert(ctx context.Context, issuer, subject, email, name string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	return fmt.Sprint("acct-", a.n), nil
}

type groupDirectory []string

func (g groupDirectory) UserGroups(ctx context.Context, userID string) ([]string, error) {
	return g, nil
}

type mfaRecords struct {
	mu  sync.Mutex
	amr []string
}

func (m *mfaRecords) Record(ctx context.Context, subject string, at time.Time, amr []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.amr = amr
	return nil
}

type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

type incrementer func()

func (i incrementer) Inc() { i() }

func (c *eventCounter) WithLabelValues(labels ...string) incrementer {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[strings.Join(labels, " ")]++
	}
}

type tenant struct{ Issuer, ClientID, Secret string }

type tenantTable map[string]*tenant

func (t tenantTable) Tenant(ctx context.Context, id string) (*tenant, error) {
	if r, ok := t[id]; ok {
		return r, nil
	}
	return nil, sql.ErrNoRows
}
