package oktasso

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/store"

	"golang.org/x/oauth2"
)

// refreshLockTTL bounds how long one instance may hold a session's refresh
// lock; refreshWait bounds how long others wait for its result.
const (
	refreshLockTTL = 30 * time.Second
	refreshWait    = 10 * time.Second
)

// refreshes runs at most one refresh per session at a time in this
// process; callers for the same session share its result.
type refreshes struct {
	mu    sync.Mutex
	calls map[string]*refreshCall
	// noToken logs, once per Auth, that offline_access brought no refresh
	// token.
	noToken sync.Once
}

type refreshCall struct {
	done chan struct{}
	s    *session // the refreshed session, or the same one to keep, or nil: ended
}

// errSessionEnded means the provider refused the refresh: the session is
// over and the user signs in again.
var errSessionEnded = errors.New("oktasso: the provider refused the refresh; the session ended")

// noteRefreshToken warns, once per Auth, when a sign-in asked for
// offline_access and the token response has no refresh token: sessions
// then end when the access token expires instead of being refreshed.
func (a *Auth) noteRefreshToken(tok *oauth2.Token) {
	if tok.RefreshToken != "" || !slices.Contains(a.cfg.Scopes, "offline_access") {
		return
	}
	a.refresh.noToken.Do(func() {
		if a.cfg.Access.Prompt == "consent" {
			a.cfg.Logger.Warn("oktasso: the scope offline_access was asked, with prompt=consent, but the provider issued no refresh token, so sessions will not be refreshed; " +
				"fix: allow the refresh_token grant for this client at the provider (Okta: the app's General tab, Grant type: Refresh Token) and let it grant offline_access")
			return
		}
		a.cfg.Logger.Warn("oktasso: the scope offline_access was asked but the provider issued no refresh token, so sessions will not be refreshed; " +
			"a strict OpenID provider grants offline_access only when the sign-in also asks for consent (OpenID Connect Core §11); " +
			"fix: set Access.Prompt to \"consent\" (" + envPrompt + "=consent), or allow the refresh_token grant for this client at the provider")
	})
}

// refreshSession returns s with fresh tokens, or s itself when the provider
// is unreachable and the access token is still valid, or nil when the
// session ended (the cookie is then cleared). Parallel requests of one
// session share one refresh; other instances wait on the store's lock and
// reuse the result through the store.
func (a *Auth) refreshSession(ctx context.Context, w http.ResponseWriter, s *session) *session {
	a.refresh.mu.Lock()
	if a.refresh.calls == nil {
		a.refresh.calls = map[string]*refreshCall{}
	}
	call, running := a.refresh.calls[s.ID]
	if !running {
		call = &refreshCall{done: make(chan struct{})}
		a.refresh.calls[s.ID] = call
		go func() {
			// Detached from this request: its cancellation must not cancel
			// the refresh the other requests wait for.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshWait+defaultHTTPTimeout)
			defer cancel()
			call.s = a.doRefresh(rctx, s)
			a.refresh.mu.Lock()
			delete(a.refresh.calls, s.ID)
			a.refresh.mu.Unlock()
			close(call.done)
		}()
	}
	a.refresh.mu.Unlock()

	select {
	case <-call.done:
	case <-ctx.Done():
		return s
	}
	ns := call.s
	if ns == nil {
		a.cookies.clearChunks(w)
		return nil
	}
	if ns != s {
		copied := *ns
		if err := a.saveSession(ctx, w, &copied, false); err != nil {
			a.cfg.Logger.Warn("oktasso: could not write the refreshed session", "err", err.Error())
		}
		return &copied
	}
	return s
}

// doRefresh does the refresh for one session, across instances.
func (a *Auth) doRefresh(ctx context.Context, s *session) *session {
	if ls, ok := a.cfg.Store.(store.LockStore); ok {
		token := randomString(12)
		got, err := ls.TryLock(ctx, keyLock(s.ID), token, refreshLockTTL)
		if err != nil {
			a.cfg.Logger.Warn("oktasso: taking the refresh lock failed", "err", err.Error())
			return a.keepOrEnd(ctx, s, err)
		}
		if !got {
			return a.awaitRefresh(ctx, s)
		}
		defer ls.Unlock(context.WithoutCancel(ctx), keyLock(s.ID), token)
	}
	// Read again under the lock: s was read before it, and another
	// instance may have refreshed it and let go of the lock meanwhile.
	if ns := a.freshVersion(ctx, s); ns != nil {
		return ns
	}
	ns, err := a.redeemRefreshToken(ctx, s)
	if err != nil {
		return a.keepOrEnd(ctx, s, err)
	}
	ttl := time.Unix(ns.Expires, 0).Sub(a.now())
	if ttl > 0 {
		v := a.cookies.sealSession(storeSealName, ns)
		if err := a.cfg.Store.Set(ctx, keyFresh(ns.ID), []byte(v), ttl); err != nil {
			a.cfg.Logger.Warn("oktasso: storing the refreshed session failed; other instances will refresh again", "err", err.Error())
		} else {
			a.indexStored(ctx, ns, ttl) // its refresh token is in the store now
		}
		if ns.Ref {
			if err := a.saveSession(ctx, discardCookies{}, ns, true); errors.Is(err, errSessionRevoked) {
				return nil // ended (signed out) while refreshing: not written back
			} else if err != nil {
				a.cfg.Logger.Warn("oktasso: storing the refreshed session failed", "err", err.Error())
			}
		}
	}
	a.audit(ctx, slog.LevelInfo, audit.Event{Name: audit.EventRefresh, Reason: audit.ReasonOK, Subject: ns.Subject}, nil)
	return ns
}

// freshVersion returns the newer version of s that another request or
// instance stored after refreshing it, or nil: the refreshed version
// (keyFresh) or, for a session kept in the store, the stored session. They
// are told apart from s by their generation (Gen, bumped by each refresh),
// never by time, so a request that read s before another instance
// refreshed it uses that refresh instead of redeeming s's refresh token a
// second time, which a provider that rotates refresh tokens takes for
// reuse once its grace period is over and answers by revoking the whole
// token family. The stored session covers a refreshed version that could
// not be written or was evicted.
func (a *Auth) freshVersion(ctx context.Context, s *session) *session {
	ns := a.newerVersion(ctx, keyFresh(s.ID), s)
	if ns == nil && s.Ref {
		ns = a.newerVersion(ctx, keySession(s.ID), s)
	}
	if ns == nil {
		return nil
	}
	ns.Ref, ns.Seen, ns.Expires = s.Ref, s.Seen, min(s.Expires, ns.Expires)
	return ns
}

// newerVersion reads the session sealed under key and returns it if it is
// s's session at a later generation.
func (a *Auth) newerVersion(ctx context.Context, key string, s *session) *session {
	b, err := a.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil
	}
	ns, _, err := a.cookies.openSession(storeSealName, string(b))
	if err != nil || ns.ID != s.ID || ns.Gen <= s.Gen {
		return nil
	}
	return ns
}

// awaitRefresh waits for another instance's refresh of s.
func (a *Auth) awaitRefresh(ctx context.Context, s *session) *session {
	deadline := time.Now().Add(refreshWait)
	for time.Now().Before(deadline) {
		if ns := a.freshVersion(ctx, s); ns != nil {
			return ns
		}
		if a.revoked(ctx, s.ID) {
			return nil
		}
		select {
		case <-ctx.Done():
			return s
		case <-time.After(50 * time.Millisecond):
		}
	}
	return a.keepOrEnd(ctx, s, errors.New("timed out waiting for another instance's refresh"))
}

// keepOrEnd decides after a failed refresh: a refusal by the provider, or an
// access token already expired, ends the session; a passing outage keeps
// it until the token expires.
func (a *Auth) keepOrEnd(ctx context.Context, s *session, err error) *session {
	if !errors.Is(err, errSessionEnded) && a.now().Unix() < s.TokenExpiry {
		a.cfg.Logger.Warn("oktasso: refresh failed; keeping the session while its token lasts", "subject", s.Subject, "err", err.Error())
		return s
	}
	reason := audit.ReasonRefreshRefused
	if !errors.Is(err, errSessionEnded) {
		reason = reasonOf(err)
	}
	a.audit(ctx, slog.LevelInfo, audit.Event{Name: audit.EventRefreshFailed, Reason: reason, Subject: s.Subject}, err)
	if err := a.endSessions(ctx, s.ID); err != nil {
		a.cfg.Logger.Error("oktasso: revoking the session failed", "err", err.Error())
	}
	return nil
}

// redeemRefreshToken calls the token endpoint with the refresh token and
// checks the new ID token: same issuer, subject, audience and authorized
// party.
func (a *Auth) redeemRefreshToken(ctx context.Context, s *session) (*session, error) {
	d, err := a.provider.discover(ctx)
	if err != nil {
		return nil, err
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, a.tokenHTTP)
	tok, err := a.oauth2Config(d).TokenSource(octx, &oauth2.Token{RefreshToken: s.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" && re.Response.StatusCode < 500 {
			return nil, fmt.Errorf("%w: %s", errSessionEnded, re.ErrorCode)
		}
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	if err := checkTokenType(tok, a.cfg.OAuth2 != nil); err != nil {
		return nil, fmt.Errorf("%w: %w", errSessionEnded, err)
	}
	ns := *s
	ns.Gen++
	if tok.RefreshToken != "" {
		ns.RefreshToken = tok.RefreshToken
	}
	if a.cfg.Session.KeepAccessToken {
		ns.AccessToken = tok.AccessToken
	}
	ns.TokenExpiry = a.tokenExpiry(tok)
	ns.TokenLife = int64(tokenLife(tok) / time.Second)
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		c, _, err := a.provider.verifyIDToken(ctx, raw, verifyRequest{clientID: a.cfg.Client.ID, accessToken: tok.AccessToken, refreshed: true})
		if err != nil {
			return nil, fmt.Errorf("%w: refreshed ID token: %w", errSessionEnded, err)
		}
		if c.Subject != s.Subject {
			return nil, fmt.Errorf("%w: refreshed ID token is for another subject", errSessionEnded)
		}
		ns.IDToken, ns.idSealed = raw, ""
	}
	return &ns, nil
}

// tokenExpiry is when tok's access token expires on the configured clock
// (Config.Now), as unix seconds, or 0 when the response gave no lifetime.
// x/oauth2 dates Expiry on the wall clock; the lifetime the provider
// sent is what counts, so that a refreshed session is judged by the same
// clock that decides when it is due again.
func (a *Auth) tokenExpiry(tok *oauth2.Token) int64 {
	life := tokenLife(tok)
	if life == 0 {
		return 0
	}
	return a.now().Add(life).Unix()
}

// tokenLife is the lifetime the provider gave tok's access token, or 0
// when it gave none.
func tokenLife(tok *oauth2.Token) time.Duration {
	switch {
	case tok.ExpiresIn > 0 && tok.ExpiresIn <= math.MaxInt32:
		return time.Duration(tok.ExpiresIn) * time.Second
	case !tok.Expiry.IsZero():
		return max(0, time.Until(tok.Expiry).Round(time.Second))
	}
	return 0
}

// refreshMargin is how long before its access token expires a session
// refreshes: refreshBefore, or half the token's lifetime when that is
// shorter (Okta allows 5-minute access tokens, which a 5-minute margin
// would refresh on every request).
func refreshMargin(s *session) time.Duration {
	if half := time.Duration(s.TokenLife) * time.Second / 2; half > 0 && half < refreshBefore {
		return half
	}
	return refreshBefore
}

// discardCookies is a ResponseWriter for saving a session in the store
// outside any response; the stub cookie it would set is dropped.
type discardCookies struct{}

func (discardCookies) Header() http.Header         { return http.Header{} }
func (discardCookies) Write(p []byte) (int, error) { return len(p), nil }
func (discardCookies) WriteHeader(int)             {}
