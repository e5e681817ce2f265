package oktatest

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files that [Server.DevSetupIn] keeps in its state folder.
const (
	// DevStateFile holds the fake org's identity: its signing keys, org
	// id, users, the dev app's client secret, the service app's key and the
	// API token. Deleting it starts a new org (new keys and user ids).
	DevStateFile = "fake-okta.json"
	// DevServiceKeyFile is the service app's private key (PEM), the file
	// to give directory sync as OKTA_PRIVATE_KEY or --private-key.
	DevServiceKeyFile = "service-app-key.pem"
)

// devStateVersion is the format of DevStateFile.
const devStateVersion = 1

// devState is what DevStateFile holds. Private keys are PKCS #8 DER (base64
// in JSON); the file is readable by its owner only.
type devState struct {
	Version      int               `json:"version"`
	Issuer       string            `json:"issuer"` // informative: the issuer the state was last used with
	OrgID        string            `json:"org_id"`
	Keys         map[string][]byte `json:"keys"` // "org/cur", "org/next", "default/cur", "default/next"; PKCS #8
	Kids         map[string]string `json:"kids"` // same names
	ClientSecret string            `json:"client_secret"`
	ServiceKey   []byte            `json:"service_key"` // PKCS #8
	APIToken     string            `json:"api_token"`
	Users        []User            `json:"users"`
}

// service returns the saved service-app key and API token, or nil and "".
func (st *devState) service() (*rsa.PrivateKey, string) {
	if st == nil {
		return nil, ""
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(st.ServiceKey); err == nil {
		key, _ = k.(*rsa.PrivateKey)
	}
	return key, st.APIToken
}

// DevSetupIn is [Server.DevSetup] that stays put across restarts: it keeps
// the fake org's identity in the folder dir (created, mode 0700, when
// missing). The first call writes [DevStateFile]; later calls, by any
// process, read it back, so the org keeps its signing keys (of the org and
// "default" authorization servers), its org id, its users with their ids
// (unless the directory already has users), the dev app's client secret
// (unless app sets one), the service app's key and the API token. With the
// same listen address (so the same issuer), a restarted fake signs the same
// person in with the same tokens' subject and keys an application already
// trusts. It also writes the service app's key to [DevServiceKeyFile]
// and reports it in DevInfo.ServiceKeyFile.
//
// Sessions, codes and tokens are not kept: people sign in again after a
// restart. It returns an error when the state cannot be read or written,
// and panics like DevSetup.
func (s *Server) DevSetupIn(dir string, app DevApp) (DevInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return DevInfo{}, fmt.Errorf("oktatest: dev state folder: %w", err)
	}
	path := filepath.Join(dir, DevStateFile)
	st, err := readDevState(path)
	if err != nil {
		return DevInfo{}, err
	}
	if st != nil {
		if err := s.restoreDevState(st); err != nil {
			return DevInfo{}, fmt.Errorf("oktatest: %s: %w (delete it to start a new fake org)", path, err)
		}
		if app.ClientSecret == "" {
			app.ClientSecret = st.ClientSecret
		}
	}
	info := s.devSetup(app, st)
	keyFile := filepath.Join(dir, DevServiceKeyFile)
	if err := writeFileAtomic(keyFile, []byte(info.ServicePrivateKey)); err != nil {
		return DevInfo{}, fmt.Errorf("oktatest: writing the service app's key: %w", err)
	}
	info.ServiceKeyFile = keyFile
	data, err := json.MarshalIndent(s.devStateOf(info), "", "  ")
	if err != nil {
		return DevInfo{}, fmt.Errorf("oktatest: dev state: %w", err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		return DevInfo{}, fmt.Errorf("oktatest: writing the dev state: %w", err)
	}
	return info, nil
}

// readDevState reads the state file at path; a missing file is nil.
func readDevState(path string) (*devState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oktatest: reading the dev state: %w", err)
	}
	var st devState
	if err := json.Unmarshal(data, &st); err != nil || st.Version != devStateVersion {
		return nil, fmt.Errorf("oktatest: %s is not a dev state file of this version (delete it to start a new fake org)", path)
	}
	return &st, nil
}

// stateKeys names the keys DevStateFile keeps.
func (s *Server) stateKeys() map[string]*signingKey {
	def := s.custom["default"]
	m := map[string]*signingKey{"org/cur": &s.org.cur, "org/next": &s.org.next}
	if def != nil {
		m["default/cur"], m["default/next"] = &def.cur, &def.next
	}
	return m
}

// restoreDevState gives the server the saved identity.
func (s *Server) restoreDevState(st *devState) error {
	keys := map[string]signingKey{}
	for name := range s.stateKeys() {
		der, ok := st.Keys[name]
		if !ok {
			continue
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		rk, isRSA := k.(*rsa.PrivateKey)
		if err != nil || !isRSA || st.Kids[name] == "" {
			return fmt.Errorf("key %s is not an RSA private key with a kid", name)
		}
		keys[name] = signingKey{kid: st.Kids[name], key: rk}
	}
	s.mu.Lock()
	for name, dst := range s.stateKeys() {
		if k, ok := keys[name]; ok && dst.ec == nil {
			*dst = k
		}
	}
	if st.OrgID != "" {
		s.orgID = st.OrgID
	}
	empty := len(s.users) == 0
	s.mu.Unlock()
	if !empty {
		return nil
	}
	for _, u := range st.Users {
		s.mu.Lock()
		_, err := s.addUserLocked(u, s.now())
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("user %s: %w", u.Login, err)
		}
	}
	return nil
}

// devStateOf returns the state to save after DevSetup returned info.
func (s *Server) devStateOf(info DevInfo) devState {
	st := devState{
		Version: devStateVersion, Issuer: info.OrgIssuer, ClientSecret: info.ClientSecret,
		APIToken: info.APIToken, Users: info.Users,
		Keys: map[string][]byte{}, Kids: map[string]string{},
	}
	s.mu.Lock()
	st.OrgID = s.orgID
	for name, k := range s.stateKeys() {
		if k.key == nil {
			continue // ES256 servers are not kept
		}
		if der, err := x509.MarshalPKCS8PrivateKey(k.key); err == nil {
			st.Keys[name], st.Kids[name] = der, k.kid
		}
	}
	s.mu.Unlock()
	if key, err := x509.ParsePKCS8PrivateKey(pemBody(info.ServicePrivateKey)); err == nil {
		st.ServiceKey, _ = x509.MarshalPKCS8PrivateKey(key)
	}
	return st
}

// writeFileAtomic replaces the file at path with data, readable by its
// owner only, through a temporary file renamed over it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// pemBody returns the DER bytes of the first PEM block of s, or nil.
func pemBody(s string) []byte {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil
	}
	return b.Bytes
}
