package oktatest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Universal Logout (Okta's profile of the IETF Global Token Revocation
// draft): when an admin clears a user's sessions, suspends or deactivates
// the user, Okta POSTs a signed request to every application that
// registered a Universal Logout endpoint, telling it to end that user's
// sessions and revoke its tokens.

// universalLogoutPath is where oktasso serves its Universal Logout
// endpoint, relative to an application's base URL; [Server.DevSetup]
// registers it for the development application.
const universalLogoutPath = "/auth/global-token-revocation"

// Delivery limits of the Universal Logout sender: per-attempt timeout,
// attempts, first back-off (doubled after each retry), the longest
// Retry-After honoured, the token's lifetime and how much of an answer is
// read.
const (
	ulAttemptTimeout = 5 * time.Second
	ulMaxAttempts    = 4
	ulFirstBackoff   = 100 * time.Millisecond
	ulMaxRetryAfter  = time.Second
	ulTokenLifetime  = 5 * time.Minute
	ulReadLimit      = 64 << 10
	ulMaxRecorded    = 1000 // deliveries kept for UniversalLogoutDeliveries
)

// Universal Logout events: why a request was sent.
const (
	ulClearSessions = "clear_sessions"
	ulSuspend       = "suspend"
	ulDeactivate    = "deactivate"
)

// UniversalLogoutDelivery records one Universal Logout request that the
// server sent to a [Client.UniversalLogoutURI]: a POST with
// "Content-Type: application/json", the body
// {"sub_id":{"format":"iss_sub","iss":ORG_URL,"sub":USER_ID}} (or, with
// [Client.UniversalLogoutEmail], {"sub_id":{"format":"email","email":…}})
// and "Authorization: Bearer TOKEN", where TOKEN is a JWT with the header
// typ "global-token-revocation+jwt", alg RS256 (ES256 after
// [Server.SetSigningAlg] on the org server) and the kid of the signing key
// in the org authorization server's JWKS (URL+"/oauth2/v1/keys", whatever
// authorization server the application signs in through), and the claims
// iss (the org URL), aud (the endpoint URL), sub (the client ID), iat,
// nbf, exp (5 minutes on) and jti.
//
// Deliveries are asynchronous, like Okta's: the call that triggers one
// returns at once. A delivery is retried, with a back-off that doubles
// from 100 ms (or honours a Retry-After of up to 1 s), after a transport
// error, a 5xx or a 429, at most 4 attempts in all; a 2xx or another 4xx
// ends it.
type UniversalLogoutDelivery struct {
	// ClientID is the application notified, URI its endpoint.
	ClientID, URI string
	// Event is why: "clear_sessions" (an admin cleared the user's
	// sessions: [Server.EndSession], [Server.ClearUserSessions] or
	// DELETE /api/v1/users/{id}/sessions), "suspend" (the user became
	// SUSPENDED) or "deactivate" (the user became DEPROVISIONED, or was
	// deleted while not yet deactivated).
	Event string
	// UserID is the user whose sessions are to end.
	UserID string
	// Token is the bearer JWT of the last attempt (each attempt is signed
	// anew, with its own jti, so that a receiver refusing replayed jti
	// values still accepts a retry); Body is the JSON body as sent.
	Token, Body string
	// Attempts is how many times the request was sent.
	Attempts int
	// Status is the HTTP status of the last answer; 0 when there was none.
	// The endpoint answers 204 when it revoked the sessions.
	Status int
	// Err is the transport error of the last attempt, or nil when the
	// application answered, whatever the status.
	Err error
}

// ulJob is one delivery in flight or finished. d is written by its
// goroutine until done is closed, then read-only.
type ulJob struct {
	d    UniversalLogoutDelivery
	done chan struct{}
	key  signingKey // the org authorization server's signing key
	org  string     // the org URL, the token's iss
}

// token signs the bearer JWT of one attempt, with its own jti.
func (j *ulJob) token(now time.Time) string {
	return signToken(&Token{
		Header: map[string]any{"alg": j.key.alg(), "kid": j.key.kid, "typ": "global-token-revocation+jwt"},
		Claims: map[string]any{
			"iss": j.org,
			"aud": j.d.URI,
			"sub": j.d.ClientID,
			"iat": now.Unix(),
			"nbf": now.Unix(),
			"exp": now.Add(ulTokenLifetime).Unix(),
			"jti": randomID("", 32),
		},
	}, j.key, signingKey{})
}

// ulState is the Universal Logout sender's state; jobs is guarded by s.mu.
type ulState struct {
	jobs   []*ulJob
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	client *http.Client
}

// initUniversalLogout prepares the sender. s must not be shared yet.
func (s *Server) initUniversalLogout() {
	ctx, cancel := context.WithCancel(context.Background())
	s.ul = ulState{ctx: ctx, cancel: cancel, client: &http.Client{
		Timeout:   ulAttemptTimeout,
		Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// closeUniversalLogout cancels the deliveries in flight and waits for
// them.
func (s *Server) closeUniversalLogout() {
	s.ul.cancel()
	s.mu.Lock()
	jobs := slices.Clone(s.ul.jobs)
	s.mu.Unlock()
	for _, j := range jobs {
		<-j.done
	}
}

// UniversalLogoutDeliveries waits until every Universal Logout request
// started so far has finished (been answered with a final status or run
// out of attempts), then returns them all (the last 1,000), oldest first.
// If ctx ends first it returns the finished ones and ctx's error.
func (s *Server) UniversalLogoutDeliveries(ctx context.Context) ([]UniversalLogoutDelivery, error) {
	s.mu.Lock()
	jobs := slices.Clone(s.ul.jobs)
	s.mu.Unlock()
	var err error
wait:
	for _, j := range jobs {
		select {
		case <-j.done:
			continue
		default:
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		}
	}
	var out []UniversalLogoutDelivery
	for _, j := range jobs {
		select {
		case <-j.done:
			out = append(out, j.d)
		default:
		}
	}
	return out, err
}

// ClearUserSessions ends every SSO session of the user with the given id
// (or login), as an admin's "Clear user sessions" or
// DELETE /api/v1/users/{id}/sessions does, and sends a Universal Logout
// request (event "clear_sessions") to every application the user is
// assigned to that has a [Client.UniversalLogoutURI]. With oauthTokens,
// the user's access and refresh tokens are revoked too (the API's
// oauthTokens=true). It returns before the requests are delivered: see
// [Server.UniversalLogoutDeliveries]. It panics if the user does not
// exist.
func (s *Server) ClearUserSessions(id string, oauthTokens bool) {
	s.mu.Lock()
	u := s.lookupUserLocked(id)
	if u == nil {
		s.mu.Unlock()
		panic("oktatest: ClearUserSessions: unknown user " + id)
	}
	userID := u.ID
	ended := s.clearSessionsLocked(userID, oauthTokens)
	s.mu.Unlock()
	for _, sess := range ended {
		s.notifyBackchannel(context.Background(), sess)
	}
	s.universalLogout(userID, ulClearSessions)
}

// clearSessionsLocked deletes the user's SSO sessions, and with
// oauthTokens revokes their access and refresh tokens, and returns the
// sessions, oldest first. s.mu must be held.
func (s *Server) clearSessionsLocked(userID string, oauthTokens bool) []*ssoSession {
	var ended []*ssoSession
	for id, sess := range s.sessions {
		if sess.userID == userID {
			ended = append(ended, sess)
			delete(s.sessions, id)
		}
	}
	if oauthTokens {
		for _, g := range s.accessTokens {
			if g.userID == userID {
				g.revoked = true
			}
		}
		for t, g := range s.refreshTokens {
			if g.userID == userID {
				g.revoked = true
				delete(s.refreshTokens, t)
			}
		}
	}
	slices.SortFunc(ended, func(a, b *ssoSession) int { return a.authTime.Compare(b.authTime) })
	return ended
}

// statusEvent returns the Universal Logout event of a status change, or
// "".
func statusEvent(from, to string) string {
	switch {
	case from == to:
		return ""
	case to == "SUSPENDED":
		return ulSuspend
	case to == "DEPROVISIONED":
		return ulDeactivate
	}
	return ""
}

// ulSubjectID is the sub_id of a Universal Logout request (RFC 9493).
type ulSubjectID struct {
	Format string `json:"format"`
	Iss    string `json:"iss,omitempty"`
	Sub    string `json:"sub,omitempty"`
	Email  string `json:"email,omitempty"`
}

// universalLogout starts a Universal Logout delivery for the user to every
// application with a UniversalLogoutURI the user is assigned to.
func (s *Server) universalLogout(userID, event string) {
	s.mu.Lock()
	u := s.users[userID]
	if u == nil || s.closed {
		s.mu.Unlock()
		return
	}
	org, key := s.URL, s.org.cur
	var jobs []*ulJob
	ids := make([]string, 0, len(s.clients))
	for id := range s.clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := s.clients[id]
		if c.UniversalLogoutURI == "" || !c.assigned(u.Login) {
			continue
		}
		subID := ulSubjectID{Format: "iss_sub", Iss: org, Sub: u.ID}
		if c.UniversalLogoutEmail {
			subID = ulSubjectID{Format: "email", Email: u.Email}
		}
		body, _ := json.Marshal(struct {
			SubID ulSubjectID `json:"sub_id"`
		}{subID})
		j := &ulJob{done: make(chan struct{}), key: key, org: org, d: UniversalLogoutDelivery{
			ClientID: c.ID, URI: c.UniversalLogoutURI, Event: event, UserID: u.ID, Body: string(body),
		}}
		jobs = append(jobs, j)
		s.ul.jobs = append(s.ul.jobs, j)
	}
	if n := len(s.ul.jobs) - ulMaxRecorded; n > 0 { // forget the oldest finished ones
		kept := s.ul.jobs[:0]
		for _, j := range s.ul.jobs {
			select {
			case <-j.done:
				if n > 0 {
					n--
					continue
				}
			default:
			}
			kept = append(kept, j)
		}
		clear(s.ul.jobs[len(kept):])
		s.ul.jobs = kept
	}
	s.mu.Unlock()
	for _, j := range jobs {
		go s.deliverUniversalLogout(j)
	}
}

// deliverUniversalLogout sends one Universal Logout request, retrying as
// UniversalLogoutDelivery describes, and closes j.done.
func (s *Server) deliverUniversalLogout(j *ulJob) {
	defer close(j.done)
	ctx := s.ul.ctx
	backoff := ulFirstBackoff
	for {
		j.d.Attempts++
		j.d.Token = j.token(s.now())
		status, retryAfter, err := s.postUniversalLogout(ctx, j.d.URI, j.d.Token, j.d.Body)
		j.d.Status, j.d.Err = status, err
		retry := err != nil || status >= 500 || status == http.StatusTooManyRequests
		if !retry || j.d.Attempts >= ulMaxAttempts || ctx.Err() != nil {
			return
		}
		wait := backoff
		if retryAfter > 0 {
			wait = min(retryAfter, ulMaxRetryAfter)
		}
		backoff *= 2
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// postUniversalLogout POSTs one Universal Logout request and returns the
// answer's status and Retry-After (seconds form only).
func (s *Server) postUniversalLogout(ctx context.Context, uri, token, body string) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, ulAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.ul.client.Do(req)
	if err != nil {
		if ctx.Err() != nil && s.ul.ctx.Err() != nil {
			err = errors.New("oktatest: server closed during Universal Logout delivery")
		}
		return 0, 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, ulReadLimit))
	var retryAfter time.Duration
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 {
		retryAfter = time.Duration(n) * time.Second
	}
	return resp.StatusCode, retryAfter, nil
}

// devUniversalLogoutURI returns the Universal Logout endpoint of the
// application whose first redirect URI ending in "/auth/callback" is in
// uris, or "".
func devUniversalLogoutURI(uris []string) string {
	for _, u := range uris {
		if base, ok := strings.CutSuffix(u, "/auth/callback"); ok {
			return base + universalLogoutPath
		}
	}
	return ""
}
