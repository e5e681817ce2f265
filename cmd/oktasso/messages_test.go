package main

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oktasso/oktasso/oktatest"
)

// goFieldName matches the Go field names that messages must not show: a
// person sets variables and flags, not Config fields.
var goFieldName = regexp.MustCompile(`\b(OrgURL|ClientID|PrivateKey|KeyID|APIToken|PageSize|BaseURL|Config\.[A-Z]\w*)\b`)

// settingName matches an environment variable or a flag.
var settingName = regexp.MustCompile(`\bOKTA(SSO)?_[A-Z0-9_]+\b|(^|[\s(])--?[a-z][a-z-]*`)

// TestCLIErrorsNameTheSettingAndTheFix runs the CLI's error paths: every
// line on stderr starts with the command, names the variable or flag to
// change, ends with "— fix: …", and names no Go field.
func TestCLIErrorsNameTheSettingAndTheFix(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fake := oktatest.NewServer()
	defer fake.Close()
	tests := []struct {
		name string
		env  func(string) (string, bool)
		args []string
		want string // in stderr
	}{
		{"unknown command", env(), []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"help for nothing", env(), []string{"help", "nope"}, `no help for "nope"`},
		{"bad flag", env(), []string{"login", "--nope"}, "-nope"},
		{"extra argument", env(), []string{"check", "extra"}, `unexpected argument "extra"`},
		{"keygen --alg without --jwk", env(), []string{"keygen", "--alg", "ES256"}, "--alg needs --jwk"},
		{"keygen bad --alg", env(), []string{"keygen", "--jwk", "--alg", "HS256"}, "--alg"},
		{"keygen --out exists", env(), []string{"keygen", "--jwk", "--out", token}, "--out"},
		{"dev bad redirect URI", env(), []string{"dev", "--redirect-uri", "/cb"}, "--redirect-uri"},
		{"dev bad address", env(), []string{"dev", "--state", dir, "--addr", "nope"}, "--addr"},
		{"sync neither --out nor --dry-run", env(), []string{"sync"}, "--dry-run"},
		{"sync no domain", env("OKTA_API_TOKEN", "x"), []string{"sync", "--dry-run", "--state", filepath.Join(dir, "s1")}, "OKTA_DOMAIN (--domain) is empty"},
		{"sync no credentials", env("OKTA_DOMAIN", "dev-123.okta.com"), []string{"sync", "--dry-run", "--state", filepath.Join(dir, "s2")}, "no credentials — fix: set OKTA_CLIENT_ID (--client-id) and OKTA_PRIVATE_KEY (--private-key)"},
		{"sync client ID without key", env("OKTA_DOMAIN", "dev-123.okta.com", "OKTA_CLIENT_ID", "0oa1"), []string{"sync", "--dry-run", "--state", filepath.Join(dir, "s3")}, "OKTA_PRIVATE_KEY (--private-key) is empty"},
		{"sync key without client ID", env("OKTA_DOMAIN", "dev-123.okta.com"), []string{"sync", "--dry-run", "--private-key", token, "--state", filepath.Join(dir, "s4")}, "OKTA_CLIENT_ID (--client-id) is empty"},
		{"sync both credentials", env("OKTA_DOMAIN", "dev-123.okta.com", "OKTA_API_TOKEN", "x"), []string{"sync", "--dry-run", "--private-key", token, "--state", filepath.Join(dir, "s5")}, "both an API token and a service app"},
		{"sync bad key", env("OKTA_DOMAIN", "dev-123.okta.com", "OKTA_CLIENT_ID", "0oa1"), []string{"sync", "--dry-run", "--private-key", token, "--state", filepath.Join(dir, "s6")}, "OKTA_PRIVATE_KEY (--private-key): "},
		{"sync http org", env("OKTA_API_TOKEN", "x"), []string{"sync", "--dry-run", "--domain", "http://dev-123.okta.com", "--state", filepath.Join(dir, "s7")}, "OKTA_DOMAIN (--domain)"},
		{"sync unreadable token file", env("OKTA_DOMAIN", "dev-123.okta.com"), []string{"sync", "--dry-run", "--api-token-file", filepath.Join(dir, "missing"), "--state", filepath.Join(dir, "s8")}, "--api-token-file"},
		{"sync refused token", env("OKTA_API_TOKEN", "wrong"), []string{"sync", "--dry-run", "--domain", fake.URL, "--state", filepath.Join(dir, "s9")}, "check the credentials (OKTA_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.env, tt.args...)
			if code == exitOK || !strings.Contains(stderr, tt.want) {
				t.Fatalf("oktasso %q = %d, stderr %q; want a failure with %q", tt.args, code, stderr, tt.want)
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if line == "" || strings.HasPrefix(line, "Usage:") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "Commands:") ||
					strings.HasPrefix(line, "oktasso sets up") || strings.HasPrefix(line, "It reads") || strings.HasPrefix(line, "OKTA_CLIENT_SECRET,") ||
					strings.HasPrefix(line, "time=") {
					continue // the usage that follows an unknown command; sync's log
				}
				if !strings.HasPrefix(line, "oktasso") || !strings.Contains(line, " — fix: ") {
					t.Errorf("oktasso %q: line %q lacks the form \"oktasso …: what — fix: what to do\"", tt.args, line)
				}
				if tt.name != "unknown command" && tt.name != "help for nothing" && tt.name != "extra argument" && !settingName.MatchString(line) {
					t.Errorf("oktasso %q: line %q names no variable or flag", tt.args, line)
				}
				if m := goFieldName.FindString(line); m != "" {
					t.Errorf("oktasso %q: line %q names the Go field %s", tt.args, line, m)
				}
			}
		})
	}
}

func TestSpeakSync(t *testing.T) {
	tests := []struct{ in, want string }{
		{"directory: OrgURL is empty; set it to your Okta org", "OKTA_DOMAIN (--domain) is empty — fix: set it to your Okta org"},
		{"directory: PageSize is negative", "--page-size is negative — fix: pass a --page-size of 1 to 200, or leave it out"},
		{"directory: something new", `something new — fix: see "oktasso help sync"`},
		{"directory: KeyID x — fix: do y", "OKTA_PRIVATE_KEY_ID (--key-id) x — fix: do y"},
	}
	for _, tt := range tests {
		if got := speakSync(tt.in); got != tt.want {
			t.Errorf("speakSync(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	lines := syncConfigLines(errors.Join(errors.New("directory: ClientID is empty; copy it"), errors.New("directory: PageSize is negative")))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "OKTA_CLIENT_ID (--client-id) is empty — fix: copy it") {
		t.Errorf("syncConfigLines = %q", lines)
	}
}

func TestSyncRunFix(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "OKTA_DOMAIN (--domain)"},
		{errors.New("directory: the state file s.json is not valid JSON (delete it to start over with a full run)"), "--state"},
		{errors.New("directory: https://x/api/v1/users: HTTP 401 E0000011"), "OKTA_API_TOKEN"},
		{errors.New("directory: sink: flush: disk full"), "--out"},
		{errors.New("something else"), "--verbose"},
	}
	for _, tt := range tests {
		if got := syncRunFix(tt.err); !strings.Contains(got, tt.want) {
			t.Errorf("syncRunFix(%v) = %q; want %q in it", tt.err, got, tt.want)
		}
	}
}
