package oktatest

import (
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	attrs := map[string]any{
		"status": "ACTIVE", "profile.login": "Alice@Example.com", "profile.firstName": "",
		"lastUpdated": t0, "created": time.Time{},
	}
	get := func(name string) any { return attrs[name] }
	tests := []struct {
		expr    string
		want    bool
		wantErr bool
	}{
		{expr: `status eq "ACTIVE"`, want: true},
		{expr: `status eq "active"`, want: true},
		{expr: `status ne "ACTIVE"`, want: false},
		{expr: `profile.login sw "alice@"`, want: true},
		{expr: `profile.login co "EXAMPLE"`, want: true},
		{expr: `profile.login eq "alice"`, want: false},
		{expr: `lastUpdated gt "2026-01-02T03:04:05.005Z"`, want: true},
		{expr: `lastUpdated gt "2026-01-02T03:04:05.006Z"`, want: false},
		{expr: `lastUpdated ge "2026-01-02T03:04:05.006Z"`, want: true},
		{expr: `lastUpdated lt "2027-01-01T00:00:00Z"`, want: true},
		{expr: `lastUpdated eq "2026-01-02T04:04:05.006+01:00"`, want: true},
		{expr: `created gt "2000-01-01T00:00:00.000Z"`, want: false},
		{expr: `lastUpdated pr`, want: true},
		{expr: `created pr`, want: false},
		{expr: `profile.firstName pr`, want: false},
		{expr: `status eq "ACTIVE" and created pr`, want: false},
		{expr: `status eq "ACTIVE" AND lastUpdated pr`, want: true},
		{expr: `created pr or status eq "ACTIVE"`, want: true},
		{expr: `not (status eq "ACTIVE")`, want: false},
		{expr: `(created pr or status eq "ACTIVE") and (profile.login sw "a")`, want: true},
		{expr: `status eq "SUSPENDED" or status eq "ACTIVE" and created pr`, want: false},
		{expr: `profile.login eq "Alice@Example.com"`, want: true},
		{expr: `profile.login eq "say \"hi\""`, want: false},
		{expr: `status eq ACTIVE`, wantErr: true},
		{expr: `status eq "ACTIVE`, wantErr: true},
		{expr: `status`, wantErr: true},
		{expr: `status eq`, wantErr: true},
		{expr: `nickname eq "x"`, wantErr: true},
		{expr: `status like "x"`, wantErr: true},
		{expr: `lastUpdated gt "yesterday"`, wantErr: true},
		{expr: `lastUpdated sw "2026"`, wantErr: true},
		{expr: `(status eq "ACTIVE"`, wantErr: true},
		{expr: `status eq "ACTIVE")`, wantErr: true},
		{expr: `status eq "ACTIVE" and`, wantErr: true},
		{expr: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := parseFilter(tt.expr, userAttrs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFilter(%q) error = %v; want error %v", tt.expr, err, tt.wantErr)
			}
			if err == nil {
				if got := p(get); got != tt.want {
					t.Errorf("parseFilter(%q)(user) = %v; want %v", tt.expr, got, tt.want)
				}
			}
		})
	}
}
