package main

import (
	"bytes"
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
	"syscall"
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

func newSyncFake(t *testing.T) *syncFake { return newSyncFakeAt(t, nil) }

// newSyncFakeAt is newSyncFake with the fake org's clock now (nil:
// time.Now).
func newSyncFakeAt(t *testing.T, now func() time.Time) *syncFake {
	t.Helper()
	srv := oktatest.NewUnstartedServer()
	if now != nil {
		srv.Now = now
	}
	srv.Start()
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
		{"no domain", env("OKTA_API_TOKEN", "x"), []string{"--dry-run"}, exitFail, "OKTA_DOMAIN (--domain) is empty — fix: "},
		{"no credentials", env("OKTA_DOMAIN", f.srv.URL), []string{"--dry-run"}, exitFail, "no credentials"},
		{"unwritable out", f.env(), []string{"--out", "/nonexistent/dir/x.jsonl"}, exitFail, "fix: pass --out"},
		{"wrong key id", env("OKTA_DOMAIN", f.srv.URL, "OKTA_CLIENT_ID", "0oa-sync", "OKTA_PRIVATE_KEY", "/nonexistent.pem"), []string{"--dry-run"}, exitFail, "OKTA_PRIVATE_KEY (--private-key): "},
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

// fullDisk is an --out file on a disk that fills up: its write number
// failWrite is short (half of it reaches the file) and fails with ENOSPC,
// and so does its fsync number failSync; every write and fsync after that
// fails too. It counts the calls.
type fullDisk struct {
	*os.File
	failWrite, failSync int
	writes, syncs       int
	full                bool
}

func (f *fullDisk) Write(p []byte) (int, error) {
	f.writes++
	if f.writes == f.failWrite {
		f.full = true
		n, _ := f.File.Write(p[:len(p)/2])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	if f.full {
		return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func (f *fullDisk) Sync() error {
	f.syncs++
	if f.syncs == f.failSync || f.full {
		f.full = true
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Sync()
}

// TestSyncCommandLosesNothing fails --out at every write and every fsync
// of a run in turn — the first page, the middle ones, the groups, the
// final flush with the deactivations and the ends of sessions
// (--end-sessions) — then resumes with a disk that has
// room and compares --out byte for byte with a run that never failed.
// When the failed run could not save its state either (the state file is
// on the same full disk), the resumed run starts from the previous state
// and cuts the lines it does not count.
func TestSyncCommandLosesNothing(t *testing.T) {
	f := newSyncFake(t)
	out, state := f.path("accounts.jsonl"), f.path("state.json")
	args := []string{"sync", "--out", out, "--state", state, "--page-size", "5", "--end-sessions"}
	if _, stderr, code := cli(t, f.env(), args...); code != exitOK {
		t.Fatalf("first run = %d: %s", code, stderr)
	}
	baseOut, _ := os.ReadFile(out)
	baseState, _ := os.ReadFile(state)
	restore := func() {
		t.Helper()
		if os.WriteFile(out, baseOut, 0o600) != nil || os.WriteFile(state, baseState, 0o600) != nil {
			t.Fatal("restoring the files of the first run")
		}
	}
	// Users are deleted and deprovisioned, a group is deleted.
	for _, login := range []string{"user2@generated.example", "user3@generated.example"} {
		u, _ := f.srv.LookupUser(login)
		f.srv.DeleteUser(u.ID)
	}
	u4, _ := f.srv.LookupUser("user4@generated.example")
	f.srv.SetUserStatus(u4.ID, "DEPROVISIONED")
	g2, _ := f.srv.LookupGroup("Generated Group 2")
	f.srv.DeleteGroup(g2.ID)
	args = append(args, "--full")

	// A run with a disk that fails where asked.
	syncWith := func(disk *fullDisk) (stderr string, code int) {
		_, stderr, code = cliWith(t, func(a *app) {
			a.openOut = func(name string) (outFile, error) {
				file, err := openOutFile(name)
				if err != nil {
					return nil, err
				}
				disk.File = file.(*os.File)
				return disk, nil
			}
		}, f.env(), args...)
		return stderr, code
	}

	restore()
	counts := &fullDisk{}
	if stderr, code := syncWith(counts); code != exitOK {
		t.Fatalf("clean run = %d: %s", code, stderr)
	}
	want, _ := os.ReadFile(out)
	ls := lines(t, out)
	if n := countOps(ls[bytes.Count(baseOut, []byte("\n")):]); n["deactivate_user"] != 3 || n["delete_group"] != 1 || n["end_sessions"] != 3 || counts.writes < 4 || counts.syncs < 4 {
		t.Fatalf("clean run wrote %v in %d writes and %d fsyncs; want 3 deactivations, 3 ends of sessions and a group deletion, in several pages", n, counts.writes, counts.syncs)
	}

	type failure struct {
		name                string
		failWrite, failSync int
	}
	var failures []failure
	for k := 1; k <= counts.writes; k++ {
		failures = append(failures, failure{fmt.Sprintf("write %d of %d", k, counts.writes), k, 0})
	}
	for k := 1; k <= counts.syncs; k++ {
		failures = append(failures, failure{fmt.Sprintf("fsync %d of %d", k, counts.syncs), 0, k})
	}
	for _, fl := range failures {
		for _, stateSaved := range []bool{true, false} {
			restore()
			stderr, code := syncWith(&fullDisk{failWrite: fl.failWrite, failSync: fl.failSync})
			if code != exitFail || !strings.Contains(stderr, "no space left on device") {
				t.Fatalf("%s failing: sync = %d; want exit 1 and the error\n%s", fl.name, code, stderr)
			}
			if !stateSaved {
				os.WriteFile(state, baseState, 0o600) // the checkpoint was lost
			}
			if _, stderr, code := cli(t, f.env(), args...); code != exitOK {
				t.Fatalf("%s failed (state saved %v), then the resumed run = %d: %s", fl.name, stateSaved, code, stderr)
			}
			if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
				t.Errorf("%s failed (state saved %v): after resuming, --out has %d bytes (%d lines); want the clean run's %d (%d lines)",
					fl.name, stateSaved, len(got), bytes.Count(got, []byte("\n")), len(want), bytes.Count(want, []byte("\n")))
			}
		}
	}
}

// TestSyncCommandDevFull is the report's case: a first run to /dev/full
// fails, and the next run, to a file, writes all 25 users.
func TestSyncCommandDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	f := newSyncFake(t)
	out, state := f.path("accounts.jsonl"), f.path("state.json")
	_, stderr, code := cli(t, f.env(), "sync", "--out", "/dev/full", "--state", state, "--page-size", "10")
	if code != exitFail || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("sync --out /dev/full = %d; want exit 1 and ENOSPC\n%s", code, stderr)
	}
	if _, stderr, code := cli(t, f.env(), "sync", "--out", out, "--state", state, "--page-size", "10"); code != exitOK {
		t.Fatalf("the next run = %d: %s", code, stderr)
	}
	if n := countOps(lines(t, out)); n["upsert_user"] != 25 || n["set_members"] != 3 {
		t.Errorf("the next run wrote %v; want all 25 users and 3 member lists", n)
	}
}
