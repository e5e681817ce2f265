package main

import (
	"errors"
	"fmt"
	"testing"
)

func TestResultString(t *testing.T) {
	tests := []struct {
		name string
		r    result
		want string
	}{
		{name: "pass", r: pass("PKCE", "S256 supported"), want: "✓ PKCE: S256 supported"},
		{name: "fail", r: fail("clock", "sync it", "off by %s", "3m"), want: "✗ clock: off by 3m — fix: sync it"},
		{name: "fail without fix", r: fail("x", "", "broken"), want: "✗ x: broken"},
		{name: "skip", r: skip("PKCE", "discovery failed"), want: "- PKCE: skipped: discovery failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.String(); got != tt.want {
				t.Errorf("%+v.String() = %q; want %q", tt.r, got, tt.want)
			}
		})
	}
}

func TestConfigResults(t *testing.T) {
	err := errors.Join(
		errors.New("oktasso: OKTASSO_SESSION_KEYS: key 1 is not base64; make one with `openssl rand -base64 32`"),
		fmt.Errorf("wrapped: %w", errors.New("inner")),
		errors.Join(errors.New("oktasso: OKTA_CLIENT_ID: is empty; copy the Client ID from the Okta application's General tab"),
			errors.New("oktasso: MaxPendingLogins: 30 is out of range 1..20")),
	)
	want := []string{
		"✗ config: OKTASSO_SESSION_KEYS: key 1 is not base64 — fix: make one with `openssl rand -base64 32`",
		"✗ config: wrapped: inner",
		"✗ config: OKTA_CLIENT_ID: is empty — fix: copy the Client ID from the Okta application's General tab",
		"✗ config: MaxPendingLogins: 30 is out of range 1..20",
	}
	got := configResults(err)
	if len(got) != len(want) {
		t.Fatalf("configResults(%q) = %d lines %v; want %d", err, len(got), got, len(want))
	}
	for i := range want {
		if got[i].String() != want[i] || !got[i].failed() {
			t.Errorf("configResults line %d = %q; want %q, failed", i, got[i], want[i])
		}
	}
	if got := configResults(nil); got != nil {
		t.Errorf("configResults(nil) = %v; want nil", got)
	}
}
