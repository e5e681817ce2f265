package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso/oktatest"
)

// env is a lookup function over a fixed environment, given as
// name, value pairs.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// cli runs the program with args and the environment of lookup.
func cli(t testing.TB, lookup func(string) (string, bool), args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliWith(t, nil, lookup, args...)
}

// cliWith is cli with a hook that edits the app first (clock, browser).
func cliWith(t testing.TB, edit func(*app), lookup func(string) (string, bool), args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(lookup, &out, &errOut)
	a.open = func(string) error { t.Error("the test tried to open a browser"); return nil }
	if edit != nil {
		edit(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code = a.main(ctx, args)
	return out.String(), errOut.String(), code
}

// newFake starts a fake Okta org with the demo users, closed at the end of
// the test.
func newFake(t testing.TB) *oktatest.Server {
	t.Helper()
	srv := oktatest.NewServer()
	t.Cleanup(srv.Close)
	srv.AddDemoUsers()
	return srv
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
		oneLineErr bool   // stderr's first line is the whole error
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantErr: "Usage: oktasso COMMAND"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantOut: "Commands:"},
		{name: "--help", args: []string{"--help"}, wantCode: exitOK, wantOut: "keygen"},
		{name: "help check", args: []string{"help", "check"}, wantCode: exitOK, wantOut: "OKTASSO_BASE_URL"},
		{name: "help login", args: []string{"help", "login"}, wantCode: exitOK, wantOut: "--show-tokens"},
		{name: "help keygen", args: []string{"help", "keygen"}, wantCode: exitOK, wantOut: "Examples:"},
		{name: "help unknown", args: []string{"help", "nope"}, wantCode: exitUsage, wantErr: "no help for \"nope\""},
		{name: "check -h", args: []string{"check", "-h"}, wantCode: exitOK, wantOut: "Usage: oktasso check"},
		{name: "login --help", args: []string{"login", "--help"}, wantCode: exitOK, wantOut: "Usage: oktasso login"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: `unknown command "frobnicate"`, oneLineErr: true},
		{name: "dev --help", args: []string{"dev", "--help"}, wantCode: exitOK, wantOut: "Usage: oktasso dev"},
		{name: "sync without --out or --dry-run", args: []string{"sync"}, wantCode: exitUsage, wantErr: `pass either --out FILE or --dry-run`, oneLineErr: true},
		{name: "bad flag", args: []string{"check", "--nope"}, wantCode: exitUsage, wantErr: "oktasso check: flag provided but not defined: -nope — fix: correct the flag; \"oktasso help check\" lists them", oneLineErr: true},
		{name: "extra argument", args: []string{"keygen", "extra"}, wantCode: exitUsage, wantErr: `unexpected argument "extra"`, oneLineErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := cli(t, env(), tt.args...)
			if code != tt.wantCode {
				t.Errorf("run(%q) = %d; want %d\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("run(%q) stdout = %q; want it to contain %q", tt.args, out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("run(%q) stderr = %q; want it to contain %q", tt.args, errOut, tt.wantErr)
			}
			if tt.oneLineErr && !strings.Contains(strings.SplitN(errOut, "\n", 2)[0], tt.wantErr) {
				t.Errorf("run(%q) stderr's first line = %q; want the whole error %q", tt.args, strings.SplitN(errOut, "\n", 2)[0], tt.wantErr)
			}
		})
	}
}
