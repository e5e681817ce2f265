package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/oktatest"
)

// syncFake is a fake org with 25 users in 3 groups, a service app whose
// key is in a file, and an API token in a file.
type syncFake struct {
	srv                *oktatest.Server
	dir                string
	keyFile, tokenFile string
}

func newSyncFake(t *testing.T) *syncFake {
	t.Helper()
	srv := oktatest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddGeneratedGroups(3)
	srv.AddGeneratedUsers(25, 1)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	srv.AddClient(oktatest.Client{ID: "0oa-sync", PublicKeys: []oktatest.PublicKey{{KeyID: "kid-1", Key: &k.PublicKey}}, AdminRole: true})
	srv.AddAPIToken("00-token")
	f := &syncFake{srv: srv, dir: t.TempDir()}
	f.keyFile = filepath.Join(f.dir, "key.pem")
	f.tokenFile = filepath.Join(f.dir, "token")
	os.WriteFile(f.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(f.tokenFile, []byte("00-token\n"), 0o600)
	return f
}

// env is the environment of the service app.
func (f *syncFake) env() func(string) (string, bool) {
	return env("OKTA_DOMAIN", f.srv.URL, "OKTA_CLIENT_ID", "0oa-sync", "OKTA_PRIVATE_KEY", f.keyFile, "OKTA_PRIVATE_KEY_ID", "kid-1")
}

func (f *syncFake) path(name string) string { return filepath.Join(f.dir, name) }

func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func countOps(ls []map[string]any) map[string]int {
	n := map[string]int{}
	for _, l := range ls {
		n[l["op"].(string)]++
	}
	return n
}

func TestSyncCommandLine(t *testing.T) {
	f := newSyncFake(t)
	tests := []struct {
		name string
		env  func(string) (string, bool)
		args []string
		code int
		err  string
	}{
		{"neither out nor dry run", f.env(), nil, exitUsage, "either --out FILE or --dry-run"},
		{"both", f.env(), []string{"--dry-run", "--out", "x"}, exitUsage, "either --out FILE or --dry-run"},
		{"bad flag", f.env(), []string{"--nope"}, exitUsage, "flag provided but not defined"},
		{"no domain", env("OKTA_API_TOKEN", "x"), []string{"--dry-run"}, exitFail, "OrgURL is empty"},
		{"no credentials", env("OKTA_DOMAIN", f.srv.URL), []string{"--dry-run"}, exitFail, "no credentials"},
		{"unwritable out", f.env(), []string{"--out", "/nonexistent/dir/x.jsonl"}, exitFail, "fix: pass --out"},
		{"wrong key id", env("OKTA_DOMAIN", f.srv.URL, "OKTA_CLIENT_ID", "0oa-sync", "OKTA_PRIVATE_KEY", "/nonexistent.pem"), []string{"--dry-run"}, exitFail, "PrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := cli(t, tt.env, append([]string{"sync", "--state", f.path(tt.name + ".json")}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Errorf("sync %v = %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.err)
			}
		})
	}
}

func TestSyncCommand(t *testing.T) {
	f := newSyncFake(t)
	out, state := f.path("accounts.jsonl"), f.path("state.json")
	stdout, stderr, code := cli(t, f.env(), "sync", "--out", out, "--state", state)
	if code != exitOK {
		t.Fatalf("sync = %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "(full run)") || !strings.Contains(stdout, "25 read, 25 upserted") || !strings.Contains(stdout, "changes appended to "+out) {
		t.Errorf("summary:\n%s", stdout)
	}
	if !strings.Contains(stderr, "sync progress") || strings.Contains(stderr, "\r") {
		t.Errorf("stderr %q; want plain progress log lines when stdout is not a terminal", stderr)
	}
	if n := countOps(lines(t, out)); n["upsert_user"] != 25 || n["upsert_group"] != 4 || n["set_members"] != 3 {
		t.Errorf("changes written: %v; want 25 users, 4 groups, 3 member lists", n)
	}

	// A user deleted in Okta: the next full run deactivates it, reported in JSON.
	u, _ := f.srv.LookupUser("user5@generated.example")
	f.srv.DeleteUser(u.ID)
	stdout, stderr, code = cli(t, f.env(), "sync", "--out", out, "--state", state, "--full", "--json")
	var got struct {
		OK      bool
		Summary struct {
			Full              bool
			Users, Deleted    int
			Deactivated       int
			Requests          int
			Started, Duration any
		}
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != exitOK {
		t.Fatalf("sync --json = %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	if !got.OK || !got.Summary.Full || got.Summary.Users != 24 || got.Summary.Deleted != 1 || got.Summary.Deactivated != 1 {
		t.Errorf("--json summary %+v; want a full run of 24 users deactivating 1", got)
	}
	ls := lines(t, out)
	if last := ls[len(ls)-1]; last["op"] != "deactivate_user" || last["id"] != u.ID || last["reason"] != "deleted" {
		t.Errorf("last change %v; want the deactivation of %s", last, u.ID)
	}

	// An incremental run with the API token.
	stdout, _, code = cli(t, env("OKTA_DOMAIN", f.srv.URL, "OKTA_CLIENT_ID", "0oa-web-app"), "sync", "--api-token-file", f.tokenFile, "--out", out, "--state", state)
	if code != exitOK || !strings.Contains(stdout, "(incremental run)") {
		t.Errorf("sync with an API token = %d\n%s", code, stdout)
	}
}

func TestSyncCommandDryRunAndLimit(t *testing.T) {
	f := newSyncFake(t)
	out, state := f.path("accounts.jsonl"), f.path("state.json")
	if _, stderr, code := cli(t, f.env(), "sync", "--out", out, "--state", state); code != exitOK {
		t.Fatalf("sync = %d: %s", code, stderr)
	}
	before, _ := os.ReadFile(state)
	for i := 1; i <= 11; i++ {
		u, _ := f.srv.LookupUser(fmt.Sprintf("user%d@generated.example", i))
		f.srv.DeleteUser(u.ID)
	}

	stdout, _, code := cli(t, f.env(), "sync", "--dry-run", "--full", "--max-deactivate", "20", "--state", state)
	if code != exitOK || strings.Count(stdout, "deactivate   ") != 11 || !strings.Contains(stdout, "dry run: nothing changed") {
		t.Errorf("dry run = %d; want 11 planned deactivations\n%s", code, stdout)
	}
	if after, _ := os.ReadFile(state); string(after) != string(before) {
		t.Errorf("the dry run changed the state file")
	}

	stdout, stderr, code := cli(t, f.env(), "sync", "--out", out, "--state", state, "--full")
	if code != exitFail || !strings.Contains(stderr, "11 users would be deactivated, more than the limit of 10") || !strings.Contains(stderr, "--max-deactivate 11") {
		t.Errorf("over the limit = %d\n%s\n%s", code, stdout, stderr)
	}
	if n := countOps(lines(t, out)); n["deactivate_user"] != 0 {
		t.Errorf("%d deactivations written; want none over the limit", n["deactivate_user"])
	}
	if _, stderr, code := cli(t, f.env(), "sync", "--out", out, "--state", state, "--max-deactivate", "11"); code != exitOK {
		t.Errorf("with --max-deactivate 11 = %d: %s", code, stderr)
	}
	if n := countOps(lines(t, out)); n["deactivate_user"] != 11 {
		t.Errorf("%d deactivations written; want 11", n["deactivate_user"])
	}
}

func TestSyncProgressLine(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Duration
		pr   directory.Progress
		want []string // substrings; nil: nothing shown
		not  string   // a substring that must not be shown
	}{
		{"first report", 10 * time.Second, directory.Progress{Phase: "users", Users: 1000, Pages: 5, KnownUsers: 4000}, []string{"\r\033[K", "users 1000", "100/s", "~30s left"}, ""},
		{"too soon", 10*time.Second + 50*time.Millisecond, directory.Progress{Phase: "users", Users: 1200}, nil, ""},
		{"new phase at once", 10*time.Second + 60*time.Millisecond, directory.Progress{Phase: "groups", Users: 1200, Groups: 3, Members: 40}, []string{"groups 3", "memberships 40"}, ""},
		{"incremental: no estimate", 20 * time.Second, directory.Progress{Phase: "groups", Users: 1200, Groups: 9}, []string{"groups 9"}, "left"},
	}
	var buf strings.Builder
	now := start
	p := &progress{w: &buf, now: func() time.Time { return now }, start: start}
	for _, tt := range tests {
		buf.Reset()
		now = start.Add(tt.at)
		p.show(tt.pr)
		got := buf.String()
		if tt.want == nil && got != "" {
			t.Errorf("%s: showed %q; want nothing", tt.name, got)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q; want it to contain %q", tt.name, got, w)
			}
		}
		if tt.not != "" && strings.Contains(got, tt.not) {
			t.Errorf("%s: %q; want no %q", tt.name, got, tt.not)
		}
	}
}
