package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
	formHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
)

// signInAll signs in users 1 to n of the fake's generated users at base,
// conc at a time, each in a browser of its own, and returns how many made
// it. It stops at the first failure.
func signInAll(ctx context.Context, base, loginPath string, n, conc int) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: conc, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1))
				if k > n {
					return
				}
				if err := signIn(ctx, tr, base+loginPath, k); err != nil {
					cancel(fmt.Errorf("user %d: %w", k, err))
					return
				}
				if d := done.Add(1); d%(max(int64(n)/10, 1)) == 0 {
					fmt.Fprintf(os.Stderr, "soak: %d sign-ins\n", d)
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return int(done.Load()), err
	}
	return int(done.Load()), nil
}

// signIn is one browser signing in user k: the app's login route, the
// fake's sign-in form, then the callback and GET /me.
func signIn(ctx context.Context, tr http.RoundTripper, loginURL string, k int) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	login := fmt.Sprintf("user%d@generated.example", k)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, loginURL, nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("no sign-in form at %s (status %d)", resp.Request.URL, resp.StatusCode)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return err
	}
	form := url.Values{"username": {login}, "password": {"password"}}
	for _, h := range formHidden.FindAllSubmatch(page, -1) {
		form.Set(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", action.Scheme+"://"+action.Host)
	if resp, err = c.Do(req); err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/me" || !strings.Contains(string(body), login) {
		return fmt.Errorf("sign-in ended at %s with %d: %.200s; want /me naming %s", resp.Request.URL, resp.StatusCode, body, login)
	}
	return nil
}
