package httpjson

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":1}`))
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100)))
		case "/html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path    string
		wantErr string
	}{
		{"/ok", ""},
		{"/big", "larger than 64 bytes"},
		{"/html", "HTML page"},
		{"/missing", "HTTP 404"},
	}
	for _, tt := range tests {
		body, err := Get(context.Background(), srv.Client(), srv.URL+tt.path, 64)
		if tt.wantErr == "" {
			if err != nil || string(body) != `{"a":1}` {
				t.Errorf("Get(%s) = %q, %v; want the document", tt.path, body, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Get(%s) error = %v; want %q", tt.path, err, tt.wantErr)
		}
	}
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusUnauthorized, "login_required", "sign in", "/auth/login")
	var m map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 401 || m["error"] != "login_required" || m["login_url"] != "/auth/login" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("WriteError = %d %v %v; want 401, the fields, no-store", rec.Code, m, rec.Header())
	}
}
