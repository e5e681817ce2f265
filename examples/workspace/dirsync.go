package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/oktatest"
)

// Directory sync (package directory): the example keeps its accounts in
// step with the Okta org in the background, and ends the sessions of
// people suspended or deactivated in Okta (SyncOptions.EndSessions), so
// their next request is refused even when Okta's Universal Logout request
// never reached the app.
//
// In dev mode it always runs, against the fake org's Management API with
// the service app dev mode registers. With a real org it runs when the
// environment gives Management API credentials: OKTA_API_TOKEN, or a
// service app's OKTASSO_SYNC_CLIENT_ID with OKTA_PRIVATE_KEY (and
// OKTA_PRIVATE_KEY_ID), the variables "oktasso sync" reads, except that
// the client ID has its own name here because OKTA_CLIENT_ID is the web
// app's. OKTASSO_SYNC_INTERVAL is how often (default a minute; 0 turns it
// off). Its state (the cursor) is directory-sync.json in the state folder.

// Variables the directory sync reads.
const (
	envSyncInterval = "OKTASSO_SYNC_INTERVAL"
	envSyncClientID = "OKTASSO_SYNC_CLIENT_ID"
	envAPIToken     = "OKTA_API_TOKEN"
	envPrivateKey   = "OKTA_PRIVATE_KEY"
	envPrivateKeyID = "OKTA_PRIVATE_KEY_ID"
)

// defaultSyncInterval is how often the sync runs without
// OKTASSO_SYNC_INTERVAL.
const defaultSyncInterval = time.Minute

// syncStateFile is the sync's state in the state folder.
const syncStateFile = "directory-sync.json"

// syncSettings configure the background directory sync.
type syncSettings struct {
	Client    directory.Config
	Interval  time.Duration // between the end of a run and the next; 0: no sync
	StateFile string
}

// syncInterval reads OKTASSO_SYNC_INTERVAL.
func syncInterval(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(envSyncInterval))
	if v == "" {
		return defaultSyncInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("workspace: %s=%q is not a duration — fix: set e.g. %s=1m, or 0 to turn directory sync off", envSyncInterval, v, envSyncInterval)
	}
	return d, nil
}

// realSync is the directory sync against a real org, from the environment:
// a zero Interval when it has no Management API credentials or the
// interval is 0. issuer is the sign-in issuer, whose origin is the org
// unless OKTA_DOMAIN says otherwise.
func realSync(getenv func(string) string, interval time.Duration, issuer, stateDir string) (syncSettings, error) {
	if interval == 0 {
		return syncSettings{}, nil
	}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := directory.Config{OrgURL: get("OKTA_DOMAIN")}
	if cfg.OrgURL == "" {
		u, err := url.Parse(issuer)
		if err != nil || u.Host == "" {
			return syncSettings{}, fmt.Errorf("workspace: directory sync: no org URL — fix: set OKTA_DOMAIN")
		}
		cfg.OrgURL = u.Scheme + "://" + u.Host
	}
	switch {
	case get(envSyncClientID) != "":
		if strings.EqualFold(get("OKTA_CLIENT_AUTH_METHOD"), "private_key_jwt") {
			return syncSettings{}, fmt.Errorf("workspace: %s is set, but OKTA_PRIVATE_KEY is the web app's key (OKTA_CLIENT_AUTH_METHOD=private_key_jwt) — fix: give directory sync %s instead", envSyncClientID, envAPIToken)
		}
		if get(envPrivateKey) == "" {
			return syncSettings{}, fmt.Errorf("workspace: %s is set without %s — fix: set the service app's private key (PEM, JWK or a file path)", envSyncClientID, envPrivateKey)
		}
		cfg.ClientID, cfg.PrivateKey, cfg.KeyID = get(envSyncClientID), oktasso.Secret(get(envPrivateKey)), get(envPrivateKeyID)
	case get(envAPIToken) != "":
		cfg.APIToken = oktasso.Secret(get(envAPIToken))
	default:
		return syncSettings{}, nil // no credentials: no sync
	}
	return syncSettings{Client: cfg, Interval: interval, StateFile: filepath.Join(stateDir, syncStateFile)}, nil
}

// devSync is the directory sync of dev mode: the fake org's Management
// API, with the service app (private_key_jwt and DPoP) dev mode
// registered.
func devSync(interval time.Duration, fake *oktatest.Server, info oktatest.DevInfo, stateDir string) syncSettings {
	if interval == 0 {
		return syncSettings{}
	}
	return syncSettings{
		Client: directory.Config{
			OrgURL:     info.OrgIssuer,
			ClientID:   info.ServiceClientID,
			PrivateKey: oktasso.Secret(info.ServicePrivateKey),
			HTTPClient: &http.Client{Transport: fake.Client().Transport, Timeout: 30 * time.Second},
		},
		Interval:  interval,
		StateFile: filepath.Join(stateDir, syncStateFile),
	}
}

// dirSync is the example's directory sync: one run at a time, into the
// account store, ending sessions through the app's oktasso.Auth.
type dirSync struct {
	client *directory.Client
	sink   *accountSink
	opts   directory.SyncOptions
	log    *slog.Logger
}

// newDirSync prepares the sync of st into accounts, whose accounts are
// linked to the sign-in issuer of auth.
func newDirSync(st syncSettings, auth *oktasso.Auth, accounts *accountStore, log *slog.Logger) (*dirSync, error) {
	if err := os.MkdirAll(filepath.Dir(st.StateFile), 0o700); err != nil {
		return nil, fmt.Errorf("workspace: directory sync: %w", err)
	}
	cc := st.Client
	cc.Logger = log
	c, err := directory.New(cc)
	if err != nil {
		return nil, fmt.Errorf("workspace: directory sync: %w", err)
	}
	issuer := auth.Config().Issuer
	return &dirSync{
		client: c,
		sink:   &accountSink{accounts: accounts, issuer: issuer},
		opts: directory.SyncOptions{
			State:         directory.FileState(st.StateFile),
			EndSessions:   auth,
			SessionIssuer: issuer,
		},
		log: log,
	}, nil
}

// runOnce runs one sync. A panic is reported as an error: the sync never
// takes the app down.
func (d *dirSync) runOnce(ctx context.Context) (sum directory.Summary, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("workspace: directory sync panicked: %v", p)
		}
	}()
	return directory.Sync(ctx, d.client, d.sink, d.opts)
}

// loop runs a sync now and then every interval after the previous one
// ended, until ctx is done. Failures are logged (the directory package's
// errors carry no token or key) and the next run resumes from the saved
// checkpoint.
func (d *dirSync) loop(ctx context.Context, interval time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sum, err := d.runOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Error("workspace: directory sync failed; the next run resumes", "err", err.Error(), "next_in", interval.String())
		default:
			d.log.Info("workspace: directory sync", "full", sum.Full, "users", sum.Users, "sessions_ended", sum.SessionsEnded,
				"deactivated", sum.Deactivated, "groups", sum.Groups)
		}
		t.Reset(interval)
	}
}

// accountSink is the sync's directory.Sink over the example's accounts:
// it records each known person's Okta status on their account (accounts
// are created at first sign-in, not by the sync) and ignores groups, which
// the example reads from the groups claim at sign-in.
type accountSink struct {
	accounts *accountStore
	issuer   string // the sign-in issuer: accounts are linked by (issuer, Okta user id)
}

func (s *accountSink) UpsertUser(_ context.Context, u directory.User) error {
	status := u.Status
	if status == directory.StatusActive {
		status = "" // the usual case shows nothing
	}
	return s.accounts.SetOktaStatus(s.issuer, u.ID, status)
}

func (s *accountSink) DeactivateUser(_ context.Context, id string, reason directory.Reason) error {
	status := directory.StatusDeprovisioned
	if reason == directory.ReasonDeleted {
		status = "DELETED"
	}
	return s.accounts.SetOktaStatus(s.issuer, id, status)
}

func (s *accountSink) UpsertGroup(context.Context, directory.Group) error { return nil }
func (s *accountSink) SetMembers(context.Context, string, []string) error { return nil }
