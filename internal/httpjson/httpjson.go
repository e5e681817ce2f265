// Package httpjson holds the JSON-over-HTTP plumbing oktasso's packages
// share: bounded reads of an identity provider's JSON answers, and the
// small uncacheable JSON bodies of API answers.
package httpjson

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Get fetches a JSON document with a read limit and clear errors for the
// usual misconfigurations (an HTML login page, a 404).
func Get(ctx context.Context, client *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return ReadBody(resp, u, limit)
}

// ReadBody reads at most limit bytes of a 200 answer that should be JSON;
// what names it in errors.
func ReadBody(resp *http.Response, what string, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s: response larger than %d bytes", what, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/html" {
		return nil, fmt.Errorf("%s: got an HTML page, not JSON; check the issuer or domain", what)
	}
	return body, nil
}

// NoStore marks an answer as not to be cached nor to leak the page in a
// Referer.
func NoStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
}

// WriteError answers with {"error": code, "error_description":
// description} and, when loginURL is set, "login_url".
func WriteError(w http.ResponseWriter, status int, code, description, loginURL string) {
	body := map[string]string{"error": code, "error_description": description}
	if loginURL != "" {
		body["login_url"] = loginURL
	}
	Write(w, status, body)
}

// Write answers with a small JSON object that must not be cached.
func Write(w http.ResponseWriter, status int, body map[string]string) {
	NoStore(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// IsAPI tells API clients (JSON, XHR, fetch) from browser navigations, so
// API clients get JSON answers instead of pages or redirects they cannot
// follow.
func IsAPI(r *http.Request) bool {
	h := r.Header
	if h.Get("X-Requested-With") != "" {
		return true
	}
	if mode := h.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" && h.Get("Sec-Fetch-Dest") == "empty" {
		return true
	}
	accept := h.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
