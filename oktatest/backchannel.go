package oktatest

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// backchannelTimeout bounds each back-channel logout delivery.
const backchannelTimeout = 5 * time.Second

// logoutTokenLifetime is the "exp" of logout tokens, after "iat".
const logoutTokenLifetime = 2 * time.Minute

// backchannelEvent is the "events" member of a logout token.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// BackchannelDelivery records one back-channel logout notification (OpenID
// Connect Back-Channel Logout 1.0) that the server sent: a POST of the form
// parameter "logout_token" to a [Client.BackchannelLogoutURI]. Okta never
// sends these; the server does only after [Server.SendBackchannelLogout].
//
// The logout token is a JWT signed (RS256, header "typ" "logout+jwt") with
// the current key of the authorization server the user signed in to the
// application through, with the claims iss, aud (the client ID), iat, exp,
// jti, events ({"http://schemas.openid.net/event/backchannel-logout":{}}),
// sub (the user ID) and sid (the "sid" of the user's ID tokens), and no
// nonce. [Server.MutateLogoutToken] can change it.
type BackchannelDelivery struct {
	// ClientID is the application notified.
	ClientID string
	// URI is the BackchannelLogoutURI the token was posted to.
	URI string
	// Issuer, Subject and SID are the token's iss, sub and sid as issued
	// (before any mutation).
	Issuer, Subject, SID string
	// LogoutToken is the token as sent.
	LogoutToken string
	// Status is the HTTP status of the application's answer; 0 when there
	// was none. The specification expects 200 (or 204).
	Status int
	// Err is the transport error (including the 5 s timeout), or nil when
	// the application answered, whatever the status.
	Err error
}

// MutateLogoutToken makes fn edit every back-channel logout token before it
// is signed, until called again with nil: fn receives the header (alg, kid,
// typ "logout+jwt"), the claims (see [BackchannelDelivery]) and the signing
// mode, and is called without locks held. Relying parties must refuse
// tokens without sid or sub, with a nonce, a wrong typ, iss, aud or
// events, or a bad signature.
func (s *Server) MutateLogoutToken(fn func(*Token)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateLogoutToken = fn
}

// SendBackchannelLogout turns OpenID Connect back-channel logout tokens on
// or off (off by default). Okta never sends them: its server-to-server
// logout is Universal Logout ([Client.UniversalLogoutURI]). Turn them on to
// test a relying party against other OpenID providers that do; each
// client's [Client.BackchannelLogoutURI] then receives them.
func (s *Server) SendBackchannelLogout(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backchannel = on
}

// BackchannelDeliveries returns every back-channel logout notification sent
// so far, oldest first.
func (s *Server) BackchannelDeliveries() []BackchannelDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// notifyBackchannel sends a logout token to every application with a
// BackchannelLogoutURI that the user signed in to during sess, in parallel,
// and returns when every delivery has an answer or has failed.
func (s *Server) notifyBackchannel(ctx context.Context, sess *ssoSession) {
	if sess == nil {
		return
	}
	type job struct {
		d      BackchannelDelivery
		tok    *Token
		key    signingKey
		rogue  signingKey
		mutate func(*Token)
	}
	now := s.now()
	s.mu.Lock()
	if !s.backchannel {
		s.mu.Unlock()
		return
	}
	var jobs []*job
	for _, app := range sess.apps {
		c := s.clients[app.clientID]
		if c == nil || c.BackchannelLogoutURI == "" {
			continue
		}
		iss := app.as.issuer(s.URL)
		key := app.as.cur
		jobs = append(jobs, &job{
			d:   BackchannelDelivery{ClientID: c.ID, URI: c.BackchannelLogoutURI, Issuer: iss, Subject: sess.userID, SID: sess.sid},
			key: key,
			tok: &Token{
				Header: map[string]any{"alg": key.alg(), "kid": key.kid, "typ": "logout+jwt"},
				Claims: map[string]any{
					"iss":    iss,
					"aud":    c.ID,
					"iat":    now.Unix(),
					"exp":    now.Add(logoutTokenLifetime).Unix(),
					"jti":    randomID("", 32),
					"events": map[string]any{backchannelEvent: map[string]any{}},
					"sub":    sess.userID,
					"sid":    sess.sid,
				},
			},
			mutate: s.mutateLogoutToken,
		})
	}
	s.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	client := &http.Client{
		Timeout:   backchannelTimeout,
		Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		if j.mutate != nil {
			j.mutate(j.tok)
		}
		if j.tok.Sign == SignUnknownKey || j.tok.Sign == SignWrongKeySameKid {
			j.rogue = s.rogueKey(j.key.alg())
		}
		j.d.LogoutToken = signToken(j.tok, j.key, j.rogue)
		wg.Go(func() { j.d.Status, j.d.Err = deliverLogoutToken(ctx, client, j.d.URI, j.d.LogoutToken) })
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range jobs {
		s.deliveries = append(s.deliveries, j.d)
	}
}

// deliverLogoutToken POSTs one logout token and returns the status of the
// answer.
func deliverLogoutToken(ctx context.Context, client *http.Client, uri, token string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}
