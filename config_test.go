package oktasso

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func lookupFrom(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

var testKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

func TestConfigFromEnvIssuer(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"org server", map[string]string{"OKTA_DOMAIN": "dev-123.okta.com"}, "https://dev-123.okta.com"},
		{"pasted URL", map[string]string{"OKTA_DOMAIN": " https://dev-123.okta.com/ "}, "https://dev-123.okta.com"},
		{"admin console host", map[string]string{"OKTA_DOMAIN": "dev-123-admin.okta.com"}, "https://dev-123.okta.com"},
		{"custom server", map[string]string{"OKTA_DOMAIN": "dev-123.okta.com", "OKTA_AUTH_SERVER_ID": "default"}, "https://dev-123.okta.com/oauth2/default"},
		{"pasted custom issuer as domain", map[string]string{"OKTA_DOMAIN": "https://dev-123.okta.com/oauth2/aus1a2b3/"}, "https://dev-123.okta.com/oauth2/aus1a2b3"},
		{"issuer wins, kept verbatim", map[string]string{"OKTA_DOMAIN": "a.okta.com", "OKTA_ISSUER": "https://login.example.com/oauth2/default/"}, "https://login.example.com/oauth2/default/"},
		{"issuer ending in a slash", map[string]string{"OKTA_ISSUER": "http://localhost:9998/"}, "http://localhost:9998/"},
		{"issuer without a slash", map[string]string{"OKTA_ISSUER": "http://localhost:9998"}, "http://localhost:9998"},
		{"Okta issuer, pasted slash dropped", map[string]string{"OKTA_ISSUER": "https://dev-123.okta.com/oauth2/default/"}, "https://dev-123.okta.com/oauth2/default"},
		{"Okta preview issuer, pasted slash dropped", map[string]string{"OKTA_ISSUER": "https://acme.oktapreview.com/"}, "https://acme.oktapreview.com"},
		{"CLI alias", map[string]string{"OKTA_OAUTH2_ISSUER": "https://dev-9.okta.com/oauth2/default"}, "https://dev-9.okta.com/oauth2/default"},
		{"loopback http", map[string]string{"OKTA_DOMAIN": "http://127.0.0.1:9999"}, "http://127.0.0.1:9999"},
		{"custom domain", map[string]string{"OKTA_DOMAIN": "login.example.com"}, "https://login.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["OKTA_CLIENT_ID"] = "0oa1"
			c, err := ConfigFromLookup(lookupFrom(tt.env))
			if err != nil {
				t.Fatalf("ConfigFromLookup(%v) error = %v", tt.env, err)
			}
			n, err := c.normalize(nil)
			if err != nil {
				t.Fatalf("normalize error = %v", err)
			}
			if n.Issuer != tt.want {
				t.Errorf("issuer = %q; want %q", n.Issuer, tt.want)
			}
		})
	}
}

func TestConfigFromEnvValues(t *testing.T) {
	c, err := ConfigFromLookup(lookupFrom(map[string]string{
		"OKTA_DOMAIN":                   "dev-1.okta.com",
		"OKTA_OAUTH2_CLIENT_ID":         "0oaCLI",
		"OKTA_OAUTH2_CLIENT_SECRET":     "s3cret",
		"OKTASSO_BASE_URL":              "https://app.example.com/",
		"OKTASSO_SESSION_KEYS":          testKey + "," + testKey,
		"OKTASSO_SESSION_IDLE_TIMEOUT":  "30m",
		"OKTASSO_SESSION_MAX_AGE":       "12h",
		"OKTASSO_ENFORCE_WORKSPACE":     "false",
		"OKTASSO_WORKSPACE_GROUPS":      "Admins, Staff",
		"OKTASSO_ALLOWED_EMAIL_DOMAINS": "Example.com,@corp.example",
		"OKTASSO_REQUIRE_USERINFO":      "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.normalize(nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"ClientID", n.Client.ID, "0oaCLI"},
		{"ClientSecret", string(n.Client.Secret), "s3cret"},
		{"BaseURL", n.BaseURL, "https://app.example.com"},
		{"keys", len(n.Session.Keys), 2},
		{"idle", n.Session.IdleTimeout, 30 * time.Minute},
		{"require userinfo", n.Access.RequireUserInfo, true},
		{"max", n.Session.MaxAge, 12 * time.Hour},
		{"SkipEnforceWorkspace", n.Access.SkipEnforceWorkspace, true},
		{"SkipEnforceWebApp", n.Access.SkipEnforceWebApp, false},
		{"groups", strings.Join(n.Access.Workspace.groups, "|"), "Admins|Staff"},
		{"domains", n.Access.SignIn.failed(nil, &User{Email: "a@corp.example", EmailVerified: true}) + "|" + n.Access.SignIn.failed(nil, &User{Email: "a@other.example", EmailVerified: true}), "|" + emailDomainRequirement},
		{"scopes", strings.Join(n.Scopes, " "), "openid profile email groups"},
		{"ClientAuth", n.Client.AuthMethod, ClientSecretBasic},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestConfigFromEnvReportsEveryProblem(t *testing.T) {
	_, err := ConfigFromLookup(lookupFrom(map[string]string{
		"OKTA_DOMAIN":                   "http://dev-1.okta.com",
		"OKTASSO_BASE_URL":              "ftp://x",
		"OKTASSO_SESSION_KEYS":          "c2hvcnQ=,!!notbase64",
		"OKTASSO_SESSION_IDLE_TIMEOUT":  "forever",
		"OKTASSO_ENFORCE_WEBAPP":        "maybe",
		"OKTASSO_ALLOWED_EMAIL_DOMAINS": "*.example.com",
	}))
	if err == nil {
		t.Fatal("ConfigFromLookup = nil error; want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		"OKTA_ISSUER (or OKTA_DOMAIN)", // http on a non-loopback host
		"OKTA_CLIENT_ID",
		"OKTASSO_BASE_URL",
		"OKTASSO_SESSION_KEYS: key 2 is not base64",
		"OKTASSO_SESSION_KEYS: key 1 has 5 bytes",
		"OKTASSO_SESSION_IDLE_TIMEOUT",
		"OKTASSO_ENFORCE_WEBAPP",
		"OKTASSO_ALLOWED_EMAIL_DOMAINS",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
}

func TestDefaultScopes(t *testing.T) {
	tests := []struct {
		issuer string
		groups []string
		want   string
	}{
		{"https://dev-1.okta.com", nil, "openid profile email"},
		{"https://dev-1.okta.com", []string{"Admins"}, "openid profile email groups"},
		{"https://dev-1.okta.com/oauth2/default", []string{"Admins"}, "openid profile email"},
	}
	for _, tt := range tests {
		c, err := Config{Issuer: tt.issuer, Client: ClientConfig{ID: "0oa1"}, Access: AccessConfig{Workspace: RequireGroups(tt.groups...)}}.normalize(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(c.Scopes, " "); got != tt.want {
			t.Errorf("scopes for %s with groups %v = %q; want %q", tt.issuer, tt.groups, got, tt.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	base := Config{Issuer: "https://dev-1.okta.com", Client: ClientConfig{ID: "0oa1"}}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"http issuer", func(c *Config) { c.Issuer = "http://dev-1.okta.com" }, "only loopback"},
		{"issuer with query", func(c *Config) { c.Issuer = "https://dev-1.okta.com?x=1" }, "not an issuer URL"},
		{"no client", func(c *Config) { c.Client.ID = "" }, "Client.ID"},
		{"short key", func(c *Config) { c.Session.Keys = []Secret{"short"} }, "Session.Keys"},
		{"bad auth", func(c *Config) { c.Client.AuthMethod = "private_key_jwt" }, "Client.AuthMethod"},
		{"off-site logout", func(c *Config) { c.Session.PostLogoutPath = "//evil.com" }, "PostLogoutPath"},
		{"domain with path", func(c *Config) { c.Issuer = ""; c.Domain = "dev-1.okta.com/app/x" }, "has a path"},
		{"conflicting server", func(c *Config) { c.Issuer = ""; c.Domain = "dev-1.okta.com/oauth2/a"; c.AuthServerID = "b" }, "keep one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			_, err := c.normalize(nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("normalize() error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("hunter2-very-secret")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "secret", s)
	js, _ := json.Marshal(struct{ S Secret }{s})
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %#v %+v", s, s, s, s, s), string(js), logs.String(),
		fmt.Sprintf("%v", Config{Client: ClientConfig{Secret: s}, Session: SessionConfig{Keys: []Secret{s}}})}
	for _, out := range outs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked in %q", out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("output %q has no redaction marker", out)
		}
	}
	if string(s) != "hunter2-very-secret" {
		t.Errorf("string(s) = %q; want the raw value", string(s))
	}
}

// TestShortSessionLifetimes: any positive idle timeout and max age are
// accepted, from the environment too; under a minute New warns, and the
// session really ends that soon. A negative one is still an error.
func TestShortSessionLifetimes(t *testing.T) {
	c, err := ConfigFromLookup(lookupFrom(map[string]string{
		"OKTA_DOMAIN": "dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1",
		"OKTASSO_SESSION_IDLE_TIMEOUT": "20s", "OKTASSO_SESSION_MAX_AGE": "1500ms",
	}))
	if err != nil {
		t.Fatalf("ConfigFromLookup with 20s and 1500ms = %v; want no error", err)
	}
	n, err := c.normalize(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.Session.MaxAge != 2*time.Second || n.Session.IdleTimeout != 2*time.Second {
		t.Errorf("max age, idle timeout = %v, %v; want 2s, 2s (rounded up to whole seconds, idle capped at max age)", n.Session.MaxAge, n.Session.IdleTimeout)
	}
	for _, env := range []map[string]string{{"OKTASSO_SESSION_IDLE_TIMEOUT": "-1s"}, {"OKTASSO_SESSION_MAX_AGE": "-5m"}} {
		env["OKTA_DOMAIN"], env["OKTA_CLIENT_ID"] = "dev-1.okta.com", "0oa1"
		if _, err := ConfigFromLookup(lookupFrom(env)); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("ConfigFromLookup(%v) error = %v; want one saying negative", env, err)
		}
	}

	var logs bytes.Buffer
	h := newHarness(t, func(c *Config) {
		c.Session.IdleTimeout = 20 * time.Second
		c.Session.MaxAge = 45 * time.Second
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for _, want := range []string{"idle timeout is under one minute", "max age is under one minute"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("short lifetimes logged an error:\n%s", logs.String())
	}
	b := h.browser()
	h.login(b, alice, "/")
	if r := b.get(h.app.URL + "/webapp"); r.status != 200 {
		t.Fatalf("GET /webapp right after sign-in = %d; want 200", r.status)
	}
	h.clock.Add(21 * time.Second)
	if r := b.get(h.app.URL + "/webapp"); r.status != http.StatusFound {
		t.Errorf("GET /webapp 21s idle with a 20s idle timeout = %d; want 302 to sign in", r.status)
	}
}

func TestPromptFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"consent", map[string]string{"OKTASSO_PROMPT": "consent"}, "consent", ""},
		{"silent sign-in", map[string]string{"OKTASSO_SILENT_LOGIN": "true"}, "none", ""},
		{"silent sign-in off", map[string]string{"OKTASSO_SILENT_LOGIN": "false"}, "", ""},
		{"both, agreeing", map[string]string{"OKTASSO_SILENT_LOGIN": "1", "OKTASSO_PROMPT": "none"}, "none", ""},
		{"both, disagreeing", map[string]string{"OKTASSO_SILENT_LOGIN": "true", "OKTASSO_PROMPT": "consent"}, "", "set one of them"},
		{"not a prompt", map[string]string{"OKTASSO_PROMPT": "always"}, "", "OKTASSO_PROMPT: \"always\" is not a prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["OKTA_DOMAIN"], tt.env["OKTA_CLIENT_ID"] = "dev-1.okta.com", "0oa1"
			c, err := ConfigFromLookup(lookupFrom(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ConfigFromLookup(%v) error = %v; want one containing %q", tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil || c.Access.Prompt != tt.want {
				t.Errorf("ConfigFromLookup(%v) = Access.Prompt %q, %v; want %q", tt.env, c.Access.Prompt, err, tt.want)
			}
		})
	}
}
